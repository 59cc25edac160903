// Keyboard shortcuts of the desk, as agents know them from Zendesk or Front (docs/cases.md, "Keyboard shortcuts"):
// j/k move through the list, Enter or o opens, r and n go to the reply and the internal note, / to the search box,
// ? shows the help (a modal <dialog>: Esc closes it and the focus goes back where it was). Keys typed into a box or
// pressed with Ctrl, Alt or Cmd are left alone. Rows are looked up at each key press, so rows htmx adds later
// ("More cases") are reached too. The help's words come translated in the page (cases/_shortcuts.html).
(function () {
  "use strict";
  const help = document.getElementById("shortcut-help");
  if (!help) return;
  let returnTo = null;

  function typing(target) {
    if (!(target instanceof Element)) return false;
    if (target.isContentEditable) return true;
    return Boolean(target.closest("input, textarea, select, [contenteditable]:not([contenteditable=false])"));
  }

  function rows() {
    return Array.from(document.querySelectorAll("[data-shortcut-rows] > tr[data-id]"));
  }

  function current() {
    return document.querySelector("[data-shortcut-rows] > tr.kb-current");
  }

  function select(row) {
    const before = current();
    if (before && before !== row) {
      before.classList.remove("kb-current");
      before.removeAttribute("aria-current");
      before.removeAttribute("tabindex");
    }
    row.classList.add("kb-current");
    row.setAttribute("aria-current", "true");
    row.tabIndex = -1;
    row.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    const list = rows();
    if (!list.length) return false;
    const at = list.indexOf(current());
    const next = at < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, at + step));
    select(list[next]);
    return true;
  }

  function open() {
    const row = current();
    if (!row) return false;
    // The row's own page (its text column), not e.g. the customer's page linked in another cell.
    const link = row.querySelector("td.excerpt a[href]") || row.querySelector("a[href]");
    if (!link) return false;
    link.click();
    return true;
  }

  function focusField(id) {
    const field = document.getElementById(id);
    if (!field) return false;
    field.scrollIntoView({ block: "center" });
    field.focus();
    return true;
  }

  function focusSearch() {
    const box = document.querySelector("[data-shortcut-search]") || document.querySelector(".topsearch input");
    if (!box) return false;
    box.focus();
    if (box.select) box.select();
    return true;
  }

  function showHelp() {
    if (help.open) return true;
    returnTo = document.activeElement;
    help.showModal();
    return true;
  }

  help.addEventListener("close", () => {
    if (returnTo && returnTo.isConnected && typeof returnTo.focus === "function") returnTo.focus();
    returnTo = null;
  });
  document.addEventListener("click", (event) => {
    if (event.target instanceof Element && event.target.closest("[data-shortcut-help]")) showHelp();
  });

  const keys = {
    j: () => move(1),
    k: () => move(-1),
    o: open,
    Enter: () => {
      const active = document.activeElement;
      // Enter on a link, button or field keeps its own meaning; only a selected row (or nothing) opens.
      if (active && active !== document.body && !active.matches("tr.kb-current")) return false;
      return open();
    },
    r: () => focusField("id_reply-text"),
    n: () => focusField("id_note-text"),
    "/": focusSearch,
    "?": showHelp,
  };

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.isComposing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (help.open || typing(event.target)) return;
    const action = Object.prototype.hasOwnProperty.call(keys, event.key) ? keys[event.key] : null;
    if (action && action()) event.preventDefault();
  });
})();
