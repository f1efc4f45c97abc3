/* Small behaviours of the ticket page (templates/tickets/ticket.html). No inline JS anywhere (CSP);
   the page works without this file, it only smooths things:
     [data-side-panel]     <details> with the properties and customer panel: open on wide screens,
                           closed on phones (where it sits above the conversation) when the page loads.
     [data-canned-picker]  The canned-response picker: opening it focuses its search box (which loads
                           the list); once a response is inserted it closes and the caret goes to the
                           end of the text.
     [data-attach]         The attachments field: the file input hides behind its label (class
                           js-files) and [data-file-names] lists what was chosen.
     Composer tabs         Choosing Reply or Internal note (also with the r / n shortcuts of
                           shortcuts.js) moves the focus into the text box.
     HelpdeskComposer      window.HelpdeskComposer.insert(text) puts text at the caret of the reply
                           box (kb-picker.js: article links), .kind() says "reply" or "note". */
(() => {
  "use strict";

  const WIDE = window.matchMedia("(min-width: 64.001rem)");

  function fitSidePanel(root) {
    root.querySelectorAll("[data-side-panel]").forEach((panel) => {
      if (panel.dataset.fitted) return;
      panel.dataset.fitted = "1";
      panel.open = WIDE.matches;
    });
  }

  function focusEnd(textarea) {
    if (!(textarea instanceof HTMLTextAreaElement)) return;
    textarea.focus();
    const end = textarea.value.length;
    textarea.setSelectionRange(end, end);
  }

  // Text in at the caret (or over the selection), with a space or line break before it when
  // it would otherwise stick to a word; the caret ends after it. The textarea keeps its
  // selection while a dialog has the focus, so this works after a picker closes.
  function insertAtCaret(text) {
    const textarea = document.getElementById("composer-body");
    if (!(textarea instanceof HTMLTextAreaElement) || !text) return false;
    const start = textarea.selectionStart ?? textarea.value.length;
    const end = textarea.selectionEnd ?? start;
    const before = textarea.value.slice(0, start);
    const after = textarea.value.slice(end);
    const lead = before && !/\s$/.test(before) ? " " : "";
    const tail = after && !/^\s/.test(after) ? " " : "";
    textarea.focus();
    textarea.setRangeText(lead + text + tail, start, end, "end");
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
    return true;
  }

  function composerKind() {
    const checked = document.querySelector("#composer-form input[name='kind']:checked");
    return checked && checked.value === "note" ? "note" : "reply";
  }

  window.HelpdeskComposer = { insert: insertAtCaret, kind: composerKind };

  function enhanceFiles(root) {
    root.querySelectorAll("[data-attach]").forEach((field) => field.classList.add("js-files"));
  }

  function enhance(root) {
    fitSidePanel(root);
    enhanceFiles(root);
  }

  document.addEventListener("DOMContentLoaded", () => enhance(document));
  document.addEventListener("htmx:load", () => enhance(document));
  WIDE.addEventListener("change", () => {
    document.querySelectorAll("[data-side-panel]").forEach((panel) => { panel.open = WIDE.matches; });
  });

  document.addEventListener("toggle", (event) => {
    const picker = event.target;
    if (picker instanceof HTMLDetailsElement && picker.matches("[data-canned-picker]") && picker.open) {
      const search = picker.querySelector("input[type='search']");
      if (search) search.focus();
    }
  }, true);

  document.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail && event.detail.target;
    if (target instanceof Element && target.id === "composer-body") {
      const textarea = document.getElementById("composer-body");
      const picker = document.querySelector("[data-canned-picker]");
      if (picker) picker.open = false;
      focusEnd(textarea);
    }
  });

  document.addEventListener("click", (event) => {
    const tab = event.target instanceof Element ? event.target.closest(".composer-tab") : null;
    if (tab) window.setTimeout(() => focusEnd(document.getElementById("composer-body")), 0);
  });

  // The chosen files' names next to "Attach files" (the native input is hidden behind it).
  document.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "file") return;
    const names = input.closest("[data-attach]")?.querySelector("[data-file-names]");
    if (names) names.textContent = Array.from(input.files || []).map((f) => f.name).join(", ");
  });

  // Escape closes the canned picker and returns to its button.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const picker = event.target instanceof Element ? event.target.closest("[data-canned-picker][open]") : null;
    if (!picker) return;
    picker.open = false;
    const summary = picker.querySelector("summary");
    if (summary) summary.focus();
  });
})();
