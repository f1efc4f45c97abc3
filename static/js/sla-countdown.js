/* SLA countdown chips (sla.display.chip_html): tick the time left every 30 s and switch the chip's colour at the
   thresholds, without a reload. No build step, no dependencies.

   <span class="chip chip-sla-ok" data-sla-chip data-now="<server now>" data-due="<due>" data-warn="<75 %>">
     <span class="sr-only">First response: </span><time datetime="<due>">2h 14m</time>
     <span class="sr-only" data-sla-suffix> until the SLA is due</span></span>

   - Time comes from the server: each chip carries the server's "now" when it was rendered, so the offset between the
     browser's clock and the server's (and a test's time travel) is kept; chips swapped in by htmx bring their own.
   - The text is the information ("2h 14m", "−5m"); colour and icon repeat it. Nothing here is aria-live except one
     polite region on pages whose chip says data-sla-announce (the ticket page): it speaks when the chip turns amber
     or red, not every tick.
   - The words come translated from the script tag (templates/sla/partials/countdown_script.html); they are the same
     formats sla.display.countdown_text uses on the server. */
(function () {
  "use strict";

  var TICK_MS = 30000;
  var STATES = ["ok", "warning", "breached"];
  var tag = document.currentScript;
  var words = (tag && tag.dataset) || {};

  function fill(format, values) {
    return String(format).replace(/%\((\w+)\)s/g, function (_match, name) { return values[name]; });
  }

  // Same rounding as sla.display.countdown_text: down while time is left, up once overdue (never "−0m").
  function countdown(seconds) {
    var overdue = seconds < 0;
    var whole = Math.abs(seconds) / 60;
    var minutes = overdue ? Math.ceil(whole) : Math.floor(whole);
    if (!overdue && minutes < 1) return words.fmtSoon || "<1m";
    var text;
    if (minutes >= 1440) {
      text = fill(words.fmtDays || "%(d)sd %(h)sh", { d: Math.floor(minutes / 1440), h: Math.floor((minutes % 1440) / 60) });
    } else if (minutes >= 60) {
      text = fill(words.fmtHours || "%(h)sh %(m)sm", { h: Math.floor(minutes / 60), m: minutes % 60 });
    } else {
      text = fill(words.fmtMinutes || "%(m)sm", { m: minutes });
    }
    return overdue ? "\u2212" + text : text;
  }

  function offset(chip) {
    if (chip.slaOffset === undefined) {
      var server = Date.parse(chip.dataset.now || "");
      chip.slaOffset = isNaN(server) ? 0 : server - Date.now();
    }
    return chip.slaOffset;
  }

  var live = null;
  function announce(text) {
    if (!live) {
      live = document.createElement("div");
      live.className = "sr-only";
      live.setAttribute("aria-live", "polite");
      live.setAttribute("data-sla-live", "");
      document.body.appendChild(live);
    }
    live.textContent = text;
  }

  function update(chip) {
    var due = Date.parse(chip.dataset.due || "");
    if (isNaN(due)) return;
    var warn = Date.parse(chip.dataset.warn || "");
    var now = Date.now() + offset(chip);
    var state = now >= due ? "breached" : !isNaN(warn) && now >= warn ? "warning" : "ok";
    var left = (due - now) / 1000;
    var time = chip.querySelector("time");
    var text = countdown(left);
    if (time && time.textContent !== text) time.textContent = text;
    var before = chip.dataset.slaState || STATES.filter(function (s) { return chip.classList.contains("chip-sla-" + s); })[0];
    if (before === state) return;
    STATES.forEach(function (s) { chip.classList.toggle("chip-sla-" + s, s === state); });
    chip.dataset.slaState = state;
    var suffix = chip.querySelector("[data-sla-suffix]");
    var said = words["suffix" + state.charAt(0).toUpperCase() + state.slice(1)];
    if (suffix && said) suffix.textContent = " " + said;
    // Speak only about a change seen on this page (not the state it was loaded in).
    if (before && chip.hasAttribute("data-sla-announce") && state !== "ok") {
      var format = state === "breached" ? words.sayBreached : words.sayWarning;
      if (format) announce(fill(format, { clock: chip.dataset.label || "", left: text }));
    }
  }

  function tick(root) {
    (root || document).querySelectorAll("[data-sla-chip][data-due]").forEach(update);
  }

  function start() {
    tick();
    window.setInterval(function () { if (!document.hidden) tick(); }, TICK_MS);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) tick(); });
    // htmx swaps in rows, headers and panels with their own chips.
    document.body.addEventListener("htmx:load", function (event) { tick(event.target); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
