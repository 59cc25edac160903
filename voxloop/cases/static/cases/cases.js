// Case pages: live countdowns and the canned-reply picker. The server renders both as plain text first;
// this only keeps the countdowns current and fills the reply box, so the pages work without it.
(function () {
  "use strict";
  const formats = document.getElementById("countdown-formats");

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, (_, key) => String(values[key]));
  }

  function duration(seconds) {
    const minutes = Math.floor(Math.abs(seconds) / 60);
    const days = Math.floor(minutes / 1440);
    const hours = Math.floor((minutes % 1440) / 60);
    const mins = minutes % 60;
    if (days) return fill(formats.dataset.dh, { d: days, h: hours });
    if (hours) return fill(formats.dataset.hm, { h: hours, m: mins });
    return fill(formats.dataset.m, { m: mins });
  }

  function tick() {
    if (!formats) return;
    const now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach((el) => {
      const due = Date.parse(el.dataset.due);
      if (Number.isNaN(due)) return;
      const seconds = (due - now) / 1000;
      const text = el.querySelector(".countdown-text");
      if (!text) return;
      if (seconds < 0) {
        text.textContent = fill(formats.dataset.over, { t: duration(seconds) });
        el.classList.add("overdue");
      } else {
        text.textContent = fill(formats.dataset.left, { t: duration(seconds) });
        el.classList.remove("overdue");
      }
    });
  }

  tick();
  setInterval(tick, 30000);
  // Rows loaded later ("more cases") get their countdown at once.
  document.body.addEventListener("htmx:afterSwap", tick);

  const picker = document.getElementById("macro-picker");
  if (picker) {
    picker.addEventListener("change", () => {
      const option = picker.selectedOptions[0];
      const target = document.getElementById(picker.dataset.target);
      if (!option || !option.value || !target) return;
      const body = option.dataset.body || "";
      // Insert at the cursor, so a macro can go into a reply already begun.
      const start = target.selectionStart ?? target.value.length;
      const end = target.selectionEnd ?? target.value.length;
      target.value = target.value.slice(0, start) + body + target.value.slice(end);
      target.focus();
      picker.value = "";
    });
  }

  // "Copy link" next to the tracking link: the clipboard API where the page is secure, else select and copy.
  document.addEventListener("click", (event) => {
    const button = event.target.closest(".copy-link");
    if (!button) return;
    const input = button.parentElement.querySelector(".tracking-url");
    if (!input) return;
    const done = () => {
      button.textContent = button.dataset.copied;
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, () => {
        input.select();
      });
    } else {
      input.select();
      if (document.execCommand("copy")) done();
    }
  });
})();

// The collision notice: tell the server when this agent starts or stops writing a reply (the page polls
// who else is here), and that they left when the page goes away.
(function () {
  "use strict";
  const state = document.getElementById("presence-state");
  if (!state) return;
  const reply = document.getElementById("id_reply-text");
  if (reply) {
    reply.addEventListener("input", () => {
      const now = reply.value.trim() ? "replying" : "viewing";
      if (now !== state.value) {
        state.value = now;
        document.body.dispatchEvent(new Event("presence-changed"));
      }
    });
  }
  window.addEventListener("pagehide", () => {
    const token = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (!token || !navigator.sendBeacon) return;
    const data = new FormData();
    data.append("state", "left");
    data.append("csrfmiddlewaretoken", token.value);
    navigator.sendBeacon(state.dataset.url, data);
  });
})();
