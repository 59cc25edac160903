// The bulk-action bar: counts the selected rows, selects all rows of the page, and shows only the field the
// chosen action needs. Without it the form still works: every field is shown and the server checks them.
(function () {
  "use strict";
  const form = document.getElementById("bulk-form");
  if (!form) return;
  const action = form.querySelector("[data-bulk-action]");
  const all = form.querySelector("[data-bulk-all]");
  const count = form.querySelector(".bulk-count");
  const boxes = () => Array.from(document.querySelectorAll('input[name="ids"][form="bulk-form"]'));

  function showFields() {
    form.querySelectorAll("label[data-for]").forEach((label) => {
      label.hidden = !label.dataset.for.split(" ").includes(action.value);
    });
  }

  function update() {
    const chosen = boxes().filter((b) => b.checked).length;
    count.textContent = chosen ? count.dataset.some.replace("%(count)s", chosen) : count.dataset.none;
    if (all) all.checked = chosen > 0 && chosen === boxes().length;
  }

  action.addEventListener("change", showFields);
  if (all) {
    all.addEventListener("change", () => {
      boxes().forEach((b) => { b.checked = all.checked; });
      update();
    });
  }
  document.body.addEventListener("change", (event) => {
    if (event.target.matches('input[name="ids"]')) update();
  });
  document.body.addEventListener("htmx:afterSwap", update);
  showFields();
  update();
})();
