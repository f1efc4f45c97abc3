/* The knowledge base on the ticket page (templates/tickets/partials/kb_panel.html, kb_picker.html,
   templates/knowledge/suggest.html and partials/article_picker.html). No inline JS (CSP); text goes
   into the reply box through window.HelpdeskComposer (composer.js).
     [data-kb-insert]        a KB panel button: its text ("Title: https://…/kb/articles/<slug>/") goes in
                             at the composer's caret.
     [data-kb-copy]          copies its text to the clipboard; [data-kb-status] announces it.
     [data-kb-picker-open]   opens the "Insert an article link" <dialog> (modal: the focus stays inside,
                             Escape closes it and the focus goes back to the button). Its search box is a
                             combobox over the listbox the server sends (knowledge:article_picker):
                             ↑/↓ move through the options, Enter inserts the active one (or the first
                             that may be inserted), a click too. Internal articles go into internal
                             notes only (as the agents' link); in a reply they are disabled, with why. */
(() => {
  "use strict";

  const composer = () => window.HelpdeskComposer;

  function announce(text) {
    document.querySelectorAll("[data-kb-status]").forEach((status) => {
      status.textContent = "";
      window.setTimeout(() => { status.textContent = text; }, 50);
    });
  }

  // Without the async clipboard (not a secure context): a hidden text box, selected and copied.
  function copyByHand(text) {
    const box = document.createElement("textarea");
    box.value = text;
    box.setAttribute("readonly", "");
    box.style.position = "fixed";
    box.style.opacity = "0";
    document.body.appendChild(box);
    box.select();
    let copied = false;
    try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
    box.remove();
    return copied;
  }

  // --- The KB panel: insert and copy ------------------------------------------------------------
  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const insert = target && target.closest("[data-kb-insert]");
    if (insert) {
      if (composer() && composer().insert(insert.dataset.kbInsert)) announce(insert.dataset.inserted || "");
      return;
    }
    const copy = target && target.closest("[data-kb-copy]");
    if (copy) {
      const text = copy.dataset.kbCopy;
      const done = () => announce(copy.dataset.copied || "");
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, () => copyByHand(text) && done());
      } else if (copyByHand(text)) {
        done();
      }
    }
  });

  // --- The picker dialog ------------------------------------------------------------------------
  let opener = null;

  const dialog = () => document.querySelector("[data-kb-picker]");
  const searchBox = () => document.getElementById("kb-picker-q");
  const options = () => Array.from(document.querySelectorAll("#kb-picker-list [role='option']"));

  function showButtons(root) {
    root.querySelectorAll("[data-kb-picker-open]").forEach((button) => {
      if (typeof HTMLDialogElement === "function") button.hidden = false;
    });
  }
  document.addEventListener("DOMContentLoaded", () => showButtons(document));
  document.addEventListener("htmx:load", (event) => showButtons(event.target instanceof Element ? event.target : document));

  function allowed(option) {
    return option.getAttribute("aria-disabled") !== "true";
  }

  // The kind can change between two openings: internal articles follow it.
  function applyKind() {
    const kind = composer() ? composer().kind() : "reply";
    options().forEach((option) => {
      if (!option.hasAttribute("data-internal")) return;
      if (kind === "reply") option.setAttribute("aria-disabled", "true");
      else option.removeAttribute("aria-disabled");
    });
    const box = dialog();
    if (box) box.dataset.kind = kind;
  }

  function setActive(option) {
    const box = searchBox();
    options().forEach((o) => o.setAttribute("aria-selected", o === option ? "true" : "false"));
    if (option) {
      box.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      box.removeAttribute("aria-activedescendant");
    }
  }

  function active() {
    return options().find((o) => o.getAttribute("aria-selected") === "true") || null;
  }

  function choose(option) {
    if (!option) return;
    const box = dialog();
    if (!allowed(option)) {
      const reason = option.querySelector("[data-reason-reply]");
      announce(reason ? reason.textContent : "");
      return;
    }
    const note = composer() && composer().kind() === "note";
    const text = option.dataset.publicLink || (note ? option.dataset.agentLink : "");
    if (!text) return;
    opener = null; // the focus goes to the text box, after the link
    box.close();
    composer().insert(text);
  }

  function open(button) {
    const box = dialog();
    if (!box || typeof box.showModal !== "function") return;
    opener = button;
    const kind = box.querySelector("[data-kb-picker-kind]");
    if (kind && composer()) kind.value = composer().kind();
    applyKind(); // what is still listed from last time follows the kind too
    box.showModal();
    const search = searchBox();
    search.focus();
    search.select();
    if (window.htmx) window.htmx.trigger(search, "kb-picker-load");
  }

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const button = target.closest("[data-kb-picker-open]");
    if (button) { open(button); return; }
    if (target.closest("[data-kb-picker-close]")) { dialog().close(); return; }
    const option = target.closest("#kb-picker-list [role='option']");
    if (option) choose(option);
  });

  document.addEventListener("close", (event) => {
    if (!(event.target instanceof HTMLDialogElement) || !event.target.matches("[data-kb-picker]")) return;
    if (opener) opener.focus();
    opener = null;
  }, true);

  document.addEventListener("keydown", (event) => {
    if (!(event.target instanceof Element) || event.target.id !== "kb-picker-q") return;
    const list = options();
    const current = active();
    const index = current ? list.indexOf(current) : -1;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!list.length) return;
      const step = event.key === "ArrowDown" ? 1 : -1;
      setActive(list[(index + step + list.length) % list.length] || list[0]);
    } else if (event.key === "Escape") {
      event.preventDefault(); // a search box would only clear itself: Escape closes, always
      dialog().close();
    } else if (event.key === "Enter") {
      event.preventDefault(); // never submit anything from here
      choose(current || list.find(allowed) || null);
    }
  });

  // New options: the kind applies, nothing is active until an arrow key says so.
  document.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail && event.detail.target;
    if (target instanceof Element && target.id === "kb-picker-results") {
      applyKind();
      setActive(null);
    }
  });
})();
