/* Keyboard shortcuts for the agent pages, plus the few small behaviours the inbox needs.
   Loaded with <script src="…/js/shortcuts.js" defer>; no inline JS anywhere (CSP).

   Contract: pages opt in with attributes, nothing else to configure.
     data-shortcut="KEY"   Pressing KEY (one character: "r", "n", "/", "?") activates the first visible
                           element carrying it: a text field gets focus, anything else is clicked.
                           The ticket page puts data-shortcut="r" on its Reply tab button and
                           data-shortcut="n" on its Note tab button; the inbox puts "/" on its search
                           box and "?" on the button that opens the help dialog.
     data-shortcut-list    The list that j / k walk (the inbox table). Inside it:
       data-shortcut-row     one row per ticket, holding
       data-shortcut-open    the row's link: j / k move focus to it, Enter opens it, and
       data-shortcut-toggle  the row's checkbox: x toggles it.
     data-select-all       A checkbox that checks every data-shortcut-toggle of its list.
     data-bulk-count       Says how many rows are checked: its data-empty text for none, else its
                           data-some text with %s replaced by the number; its <form> gets
                           data-enhanced, and .has-selection while some are checked (the CSS
                           shows the bulk controls then). Checked rows get tr.is-selected.
     data-dismiss          A button that removes the .alert it sits in.
     data-poll="SECONDS"   An element with hx-trigger="inbox:poll": triggered every SECONDS while the
                           tab is visible, and at once when the tab comes back after a longer absence.
     <button commandfor="ID" command="show-modal">  Opens <dialog id="ID"> in browsers that lack
                           invoker commands (the others do it natively).
   Also: the current tab (aria-current="page") of a .tabs strip too wide for a phone is scrolled
   into view.
   Shortcuts never fire while typing in a field, inside an open dialog, or with Ctrl/Alt/Meta held. */
(() => {
  "use strict";

  const NOT_TYPING = ["checkbox", "radio", "button", "submit", "reset", "file", "image", "range", "color"];

  function isTyping(target) {
    if (!(target instanceof Element)) return false;
    if (target.closest("textarea, select, [contenteditable]:not([contenteditable='false'])")) return true;
    return target instanceof HTMLInputElement && !NOT_TYPING.includes(target.type);
  }

  function visible(element) {
    return element.getClientRects().length > 0;
  }

  function rows() {
    const list = document.querySelector("[data-shortcut-list]");
    return list ? Array.from(list.querySelectorAll("[data-shortcut-row]")) : [];
  }

  function currentRow() {
    const active = document.activeElement;
    return active instanceof Element ? active.closest("[data-shortcut-row]") : null;
  }

  function move(step) {
    const all = rows();
    if (!all.length) return false;
    const here = all.indexOf(currentRow());
    const next = here === -1 ? (step > 0 ? 0 : all.length - 1)
                             : Math.min(all.length - 1, Math.max(0, here + step));
    const link = all[next].querySelector("[data-shortcut-open]");
    if (!link) return false;
    link.focus();
    link.scrollIntoView({ block: "nearest" });
    return true;
  }

  function toggleCurrent() {
    const row = currentRow();
    const box = row && row.querySelector("[data-shortcut-toggle]");
    if (!box) return false;
    box.checked = !box.checked;
    box.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  function openCurrent(target) {
    const row = currentRow();
    const link = row && row.querySelector("[data-shortcut-open]");
    if (!link || (target instanceof Element && target.closest("a, button"))) return false;
    link.click();
    return true;
  }

  function activate(key) {
    const match = Array.from(document.querySelectorAll("[data-shortcut]"))
      .find((el) => el.dataset.shortcut === key && visible(el));
    if (!match) return false;
    if (isTyping(match)) {
      match.focus();
      if (typeof match.select === "function") match.select();
    } else {
      match.click();
    }
    return true;
  }

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (isTyping(event.target) || document.querySelector("dialog[open]")) return;
    const key = event.key;
    let handled = false;
    if (key === "j" || key === "k") handled = move(key === "j" ? 1 : -1);
    else if (key === "x") handled = toggleCurrent();
    else if (key === "Enter") handled = openCurrent(event.target);
    else if (key.length === 1) handled = activate(key);
    if (handled) event.preventDefault();
  });

  // -- Row selection for bulk actions ---------------------------------------------------------
  function syncSelection() {
    const boxes = Array.from(document.querySelectorAll("[data-shortcut-toggle]"));
    const checked = boxes.filter((box) => box.checked).length;
    boxes.forEach((box) => {
      const row = box.closest("[data-shortcut-row]");
      if (row) row.classList.toggle("is-selected", box.checked);
    });
    document.querySelectorAll("[data-select-all]").forEach((all) => {
      all.checked = boxes.length > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    });
    document.querySelectorAll("[data-bulk-count]").forEach((label) => {
      label.textContent = checked ? (label.dataset.some || "%s").replace("%s", checked) : label.dataset.empty || "";
      const form = label.closest("form");
      if (!form) return;
      form.classList.toggle("has-selection", checked > 0);
      form.dataset.enhanced = "";
    });
  }
  syncSelection();

  document.addEventListener("change", (event) => {
    const target = event.target;
    if (!(target instanceof HTMLInputElement)) return;
    if (target.matches("[data-select-all]")) {
      const list = target.closest("[data-shortcut-list]") || document;
      list.querySelectorAll("[data-shortcut-toggle]").forEach((box) => { box.checked = target.checked; });
    }
    if (target.matches("[data-select-all], [data-shortcut-toggle]")) syncSelection();
  });
  document.addEventListener("htmx:afterSettle", syncSelection);

  // -- Dismissible notices and dialogs --------------------------------------------------------
  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const dismiss = target && target.closest("[data-dismiss]");
    if (dismiss) {
      const alert = dismiss.closest(".alert");
      if (alert) alert.remove();
      return;
    }
    const opener = target && target.closest("button[commandfor][command='show-modal']");
    if (opener && !("commandForElement" in HTMLButtonElement.prototype)) {
      const dialog = document.getElementById(opener.getAttribute("commandfor"));
      if (dialog instanceof HTMLDialogElement && !dialog.open) dialog.showModal();
    }
  });

  // -- The current tab of a sideways-scrolling .tabs strip starts in view (phones) ----------
  function showCurrentTab() {
    document.querySelectorAll(".tabs [aria-current='page']").forEach((tab) => {
      const strip = tab.closest(".tabs");
      if (strip.scrollWidth > strip.clientWidth) {
        const offset = tab.getBoundingClientRect().left - strip.getBoundingClientRect().left;
        strip.scrollLeft += offset - (strip.clientWidth - tab.offsetWidth) / 2;
      }
    });
  }
  showCurrentTab();
  document.addEventListener("htmx:afterSettle", showCurrentTab);

  // -- Polling that pauses while the tab is hidden --------------------------------------------
  let lastPoll = Date.now();
  function poll() {
    const element = document.querySelector("[data-poll]");
    if (!element || !window.htmx || document.visibilityState !== "visible") return;
    const every = (Number(element.dataset.poll) || 20) * 1000;
    if (Date.now() - lastPoll < every) return;
    lastPoll = Date.now();
    window.htmx.trigger(element, "inbox:poll");
  }
  window.setInterval(poll, 5000);
  document.addEventListener("visibilitychange", poll);
})();
