// Small progressive enhancements; pages work without them.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches("[data-autosubmit]")) el.form.submit();
});
document.body.addEventListener("htmx:configRequest", (event) => {
  const token = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (token) event.detail.headers["X-CSRFToken"] = token.value;
});

// The rule editor: each condition row offers the operators and the value list of its field only (the page
// works without this; the server checks every row either way).
(() => {
  const meta = document.getElementById("condition-fields");
  if (!meta) return;
  const fields = JSON.parse(meta.textContent);
  const update = (row) => {
    const field = row.querySelector("select[name$='-field']").value;
    const info = fields[field];
    const op = row.querySelector("select[name$='-op']");
    const values = row.querySelector("select[name$='-values']");
    const typed = row.querySelector("input[name$='-value']");
    const label = field ? row.querySelector("select[name$='-field'] option:checked").textContent : "";
    for (const option of op.options) option.hidden = !!info && !info.ops.includes(option.value);
    if (info && !info.ops.includes(op.value)) op.value = info.ops[0];
    for (const group of values.querySelectorAll("optgroup")) {
      const mine = group.label === label;
      group.hidden = !mine;
      group.disabled = !mine;
    }
    values.hidden = !info || !info.listed;
    // A listed field's typed box stays only while it holds a value the list lacks (an own segment, an old topic).
    typed.hidden = !!info && info.listed && !typed.value;
    typed.placeholder = info && info.number ? "4" : "";
    typed.inputMode = info && info.number ? "decimal" : "text";
  };
  for (const row of document.querySelectorAll(".condition-row")) {
    update(row);
    row.querySelector("select[name$='-field']").addEventListener("change", () => update(row));
  }
})();

// The metrics panel: the value list shows the values of the chosen cut only (teams and agents by name).
(() => {
  const values = document.querySelector("select[data-cut-values]");
  const cut = values && values.form.querySelector("select[name=cut]");
  if (!cut) return;
  const update = () => {
    for (const group of values.querySelectorAll("optgroup")) {
      const mine = group.dataset.dimension === cut.value;
      group.hidden = !mine;
      group.disabled = !mine;
    }
    const chosen = values.selectedOptions[0];
    if (chosen && chosen.parentElement.tagName === "OPTGROUP" && chosen.parentElement.hidden) values.value = "";
  };
  update();
  cut.addEventListener("change", update);
})();
// The top bar's menus: one open at a time, closed by a click elsewhere or Escape.
document.addEventListener("click", (event) => {
  document.querySelectorAll("details.navmenu[open]").forEach((menu) => {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  });
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  document.querySelectorAll("details.navmenu[open]").forEach((menu) => {
    menu.removeAttribute("open");
    menu.querySelector("summary").focus();
  });
});
