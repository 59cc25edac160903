// Shows a follow-up question ("why?") only when the score it depends on matches. Without this script every
// question is shown, and the server ignores answers to questions whose condition does not hold.
(function () {
  const form = document.querySelector(".survey-form");
  if (!form) return;
  const dependants = form.querySelectorAll("[data-show-if]");
  function update() {
    dependants.forEach((box) => {
      const picked = form.querySelector('input[name="' + box.dataset.showIf + '"]:checked');
      const score = picked ? Number(picked.value) : null;
      let show = score !== null;
      if (show && box.dataset.lte !== undefined) show = score <= Number(box.dataset.lte);
      if (show && box.dataset.gte !== undefined) show = score >= Number(box.dataset.gte);
      box.hidden = !show;
    });
  }
  form.addEventListener("change", update);
  update();
})();
