// The little JavaScript the dashboard needs beside htmx: the prompt's
// character count, Ctrl/Cmd+Enter to submit, copy-to-clipboard buttons,
// forms sent on change (the language menu), the viewer's keys and the
// gallery's selection. Here, never in inline handlers:
// the Content-Security-Policy refuses those.
(function () {
  "use strict";

  function updateCount() {
    const prompt = document.getElementById("id_prompt");
    const limit = document.getElementById("prompt-limit");
    const count = document.getElementById("prompt-count");
    if (!prompt || !count) return;
    const max = limit ? Number(limit.dataset.maxChars) : 0;
    const used = Array.from(prompt.value).length; // code points, as the server counts
    count.textContent = used;
    if (max) document.getElementById("prompt-max").textContent = max;
    count.parentElement.classList.toggle("over", Boolean(max) && used > max);
  }

  document.addEventListener("input", function (event) {
    if (event.target.id === "id_prompt") updateCount();
  });

  document.addEventListener("keydown", function (event) {
    if (event.target.id === "id_prompt" && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      event.target.form.requestSubmit();
    }
  });

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    navigator.clipboard.writeText(button.dataset.copy).then(function () {
      const label = button.textContent;
      button.textContent = "✓";
      setTimeout(function () { button.textContent = label; }, 1200);
    });
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-submit-on-change]")) event.target.form.submit();
  });

  // The full-screen viewer's keys: each presses the link or button marked
  // with its data-key, so a key does exactly what a click there would.
  const VIEWER_KEYS = { ArrowLeft: "prev", ArrowRight: "next", Escape: "close", d: "download", r: "remix", Delete: "trash" };

  document.addEventListener("keydown", function (event) {
    const viewer = document.querySelector("[data-viewer]");
    if (!viewer || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, textarea, select")) return;
    const name = VIEWER_KEYS[event.key.length === 1 ? event.key.toLowerCase() : event.key];
    const target = name && viewer.querySelector('[data-key="' + name + '"]');
    if (!target) return;
    event.preventDefault();
    target.click();
  });

  // The gallery's selection for bulk actions: ticks, Shift+click for a range
  // (in page order, pages loaded by scrolling included), all or none.
  let lastPick = null;

  function picks() {
    return Array.from(document.querySelectorAll('input[form="bulk"][name="ids"]'));
  }

  function showPicked() {
    const label = document.getElementById("bulk-count");
    if (!label) return;
    const n = picks().filter(function (p) { return p.checked; }).length;
    label.textContent = n ? label.dataset.some.replace("%(count)s", n) : label.dataset.none;
  }

  document.addEventListener("click", function (event) {
    const box = event.target.closest('input[form="bulk"][name="ids"]');
    if (box) {
      const all = picks();
      if (event.shiftKey && lastPick && all.includes(lastPick)) {
        const ends = [all.indexOf(lastPick), all.indexOf(box)].sort(function (a, b) { return a - b; });
        all.slice(ends[0], ends[1] + 1).forEach(function (p) { p.checked = box.checked; });
      }
      lastPick = box;
    } else if (event.target.closest("[data-select-all], [data-select-none]")) {
      const on = Boolean(event.target.closest("[data-select-all]"));
      picks().forEach(function (p) { p.checked = on; });
    } else {
      return;
    }
    showPicked();
  });

  // A new card lands at the top of "Recent images", which on a phone is far
  // below the form: bring it into view, unless it is already on screen.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id !== "recent") return;
    const card = event.detail.target.querySelector(".gen");
    if (!card) return;
    const box = card.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) card.scrollIntoView({ block: "center" });
  });

  // Screen readers hear what changed, once: a card's new status when it
  // changes (not every poll) and a new card (a submit's errors are in a
  // role=alert box). Old errors and notices go when the form is sent again.
  function announce(text) {
    const box = document.getElementById("announce");
    if (box && text) box.textContent = text;
  }

  function cardWords(card) {
    const prompt = card.querySelector(".prompt");
    const badge = card.querySelector(".badge");
    return (prompt ? prompt.textContent.trim() + ": " : "") + (badge ? badge.textContent.trim() : "");
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    const old = event.detail.target;
    if (!old.classList || !old.classList.contains("gen") || !event.detail.shouldSwap) return;
    const parsed = new DOMParser().parseFromString(event.detail.serverResponse, "text/html");
    const fresh = parsed.querySelector(".gen");
    if (fresh && fresh.className !== old.className) announce(cardWords(fresh));
  });

  // The price line is asked again on every keystroke; an answer that says
  // the same is not swapped in, so a screen reader hears it only when it
  // changes (an answer that schedules a re-check is always taken).
  document.addEventListener("htmx:beforeSwap", function (event) {
    const target = event.detail.target;
    if (target.id !== "quote" || !event.detail.shouldSwap) return;
    const fresh = event.detail.serverResponse;
    if (fresh.indexOf("recheck") !== -1) return;
    const text = new DOMParser().parseFromString(fresh, "text/html").body.textContent;
    if (text.trim() === target.textContent.trim()) event.detail.shouldSwap = false;
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail.target;
    if (target.id === "recent" && target.querySelector(".gen")) announce(cardWords(target.querySelector(".gen")));
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt.id !== "generate") return;
    const errors = document.getElementById("form-errors");
    if (errors) errors.replaceChildren();
    document.querySelectorAll("main > .flash").forEach(function (flash) { flash.remove(); });
  });

  document.addEventListener("htmx:afterSettle", updateCount);
  document.addEventListener("DOMContentLoaded", updateCount);
})();
