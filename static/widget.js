/*
 * Helpdesk live chat widget. Embed on any site the tenant allows (Settings › Channels):
 *
 *   <script src="https://acme.example.com/static/widget.js" data-tenant="acme" defer></script>
 *
 * Optional: data-lang="zh-hans" | "en" (default: the page's language, else the tenant's).
 * Talks to /channels/chat/ on the host the script came from, over plain HTTP (JSON + polling).
 * Everything lives in a shadow root, so the host page's CSS cannot break it and it cannot
 * break the host page. Keyboard: the launcher is a button; Esc closes the panel.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__helpdeskChat) return;
  window.__helpdeskChat = true;
  var base = new URL(script.src, location.href).origin + "/channels/chat/";
  var tenant = script.getAttribute("data-tenant") || "";
  var store = "helpdesk-chat:" + tenant + ":" + base;

  var TEXT = {
    en: {
      open: "Chat with us", close: "Close chat", send: "Send", placeholder: "Type your message…",
      name: "Your name (optional)", email: "Your email (optional, for a transcript)",
      emailNeeded: "Your email address", offline: "We are offline. Leave a message and we will answer by email.",
      sent: "Thanks! We will answer by email.", transcript: "Email me this chat",
      transcriptSent: "Transcript sent to ", you: "You", agent: "Support", error: "Could not send. Try again.",
      message: "Message", start: "Start chat", leave: "Send message"
    },
    zh: {
      open: "在线咨询", close: "关闭对话", send: "发送", placeholder: "输入消息…",
      name: "您的称呼（选填）", email: "您的邮箱（选填，用于发送聊天记录）",
      emailNeeded: "您的邮箱地址", offline: "我们暂时不在线。请留言，我们会通过邮件回复。",
      sent: "谢谢！我们会通过邮件回复您。", transcript: "把聊天记录发到我的邮箱",
      transcriptSent: "聊天记录已发送至 ", you: "我", agent: "客服", error: "发送失败，请重试。",
      message: "消息", start: "开始对话", leave: "提交留言"
    }
  };
  var lang = (script.getAttribute("data-lang") || document.documentElement.lang || navigator.language || "en").toLowerCase();
  var t = TEXT[lang.indexOf("zh") === 0 ? "zh" : "en"];

  var state = { session: null, after: 0, timer: null, config: null, pollMs: 1500 };
  try { state.session = JSON.parse(localStorage.getItem(store) || "null"); } catch (e) { state.session = null; }

  function api(path, body) {
    var options = body === undefined ? { method: "GET" } : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    };
    options.credentials = "omit";
    return fetch(base + path, options).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error(data.error || r.status);
        return data;
      });
    });
  }
  function uid() { return Date.now().toString(36) + Math.random().toString(36).slice(2, 10); }

  var host = document.createElement("div");
  host.setAttribute("data-helpdesk-chat", "");
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    "<style>" +
    ":host{all:initial}*{box-sizing:border-box;font-family:system-ui,-apple-system,'PingFang SC','Microsoft YaHei',sans-serif}" +
    ".launch{position:fixed;right:20px;bottom:20px;z-index:2147483000;border:0;border-radius:999px;padding:12px 18px;background:#1d4ed8;color:#fff;font-size:15px;font-weight:600;box-shadow:0 6px 20px rgba(16,24,40,.25);cursor:pointer}" +
    ".launch:focus-visible,button:focus-visible,textarea:focus-visible,input:focus-visible{outline:3px solid #93c5fd;outline-offset:2px}" +
    ".panel{position:fixed;right:20px;bottom:80px;z-index:2147483000;width:min(360px,calc(100vw - 24px));height:min(520px,calc(100vh - 110px));display:flex;flex-direction:column;background:#fff;color:#101828;border:1px solid #e4e7ec;border-radius:12px;box-shadow:0 12px 32px rgba(16,24,40,.25);overflow:hidden}" +
    ".panel[hidden]{display:none}.head{display:flex;align-items:center;justify-content:space-between;gap:8px;padding:12px 14px;background:#1d4ed8;color:#fff}" +
    ".head h2{font-size:16px;margin:0}.x{border:0;background:transparent;color:#fff;font-size:22px;line-height:1;cursor:pointer;padding:2px 6px}" +
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f9fafb}" +
    ".msg{margin:0;max-width:85%;padding:8px 11px;border-radius:10px;font-size:14px;line-height:1.45;white-space:pre-wrap;word-wrap:break-word}" +
    ".msg.visitor{align-self:flex-end;background:#1d4ed8;color:#fff}.msg.agent{align-self:flex-start;background:#fff;border:1px solid #e4e7ec}" +
    ".who{display:block;font-size:11px;opacity:.8;margin-bottom:2px}.note{font-size:13px;color:#475467;margin:0}" +
    "form{display:flex;flex-direction:column;gap:8px;padding:10px;border-top:1px solid #e4e7ec;background:#fff}" +
    "label{font-size:12px;color:#344054}input,textarea{width:100%;font-size:14px;padding:8px;border:1px solid #d0d5dd;border-radius:6px;color:#101828;background:#fff}" +
    "textarea{resize:none;height:64px}.row{display:flex;gap:8px;align-items:center;justify-content:space-between}" +
    ".send{border:0;border-radius:6px;padding:8px 14px;background:#1d4ed8;color:#fff;font-weight:600;cursor:pointer}.link{border:0;background:none;color:#1d4ed8;font-size:12px;cursor:pointer;padding:0;text-decoration:underline}" +
    ".status{font-size:12px;color:#b42318;min-height:1em}" +
    "</style>" +
    "<button class='launch' type='button' aria-expanded='false' aria-controls='hd-panel'></button>" +
    "<section class='panel' id='hd-panel' role='dialog' aria-modal='false' aria-labelledby='hd-title' hidden>" +
    "<div class='head'><h2 id='hd-title'></h2><button class='x' type='button'></button></div>" +
    "<div class='log' role='log' aria-live='polite'></div>" +
    "<form novalidate>" +
    "<div class='who-fields'><label for='hd-name'></label><input id='hd-name' autocomplete='name'>" +
    "<label for='hd-email'></label><input id='hd-email' type='email' autocomplete='email'></div>" +
    "<label for='hd-text'></label><textarea id='hd-text' required></textarea>" +
    "<div class='row'><button class='link' type='button'></button><button class='send' type='submit'></button></div>" +
    "<p class='status' role='status'></p></form></section>";

  var $ = function (sel) { return root.querySelector(sel); };
  var launch = $(".launch"), panel = $(".panel"), log = $(".log"), form = $("form"),
      text = $("#hd-text"), name = $("#hd-name"), email = $("#hd-email"), status = $(".status"),
      transcript = $(".link"), whoFields = $(".who-fields");
  launch.textContent = t.open;
  $(".x").setAttribute("aria-label", t.close);
  $(".x").textContent = "×";
  $("label[for=hd-name]").textContent = t.name;
  $("label[for=hd-text]").textContent = t.message;
  text.placeholder = t.placeholder;
  transcript.textContent = t.transcript;

  function add(row) {
    var p = document.createElement("p");
    p.className = "msg " + row.from;
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = row.from === "visitor" ? t.you : (row.name || t.agent);
    p.appendChild(who);
    p.appendChild(document.createTextNode(row.text));
    log.appendChild(p);
    log.scrollTop = log.scrollHeight;
    state.after = Math.max(state.after, row.id || 0);
  }
  function note(textContent) {
    var p = document.createElement("p");
    p.className = "note";
    p.textContent = textContent;
    log.appendChild(p);
  }
  function mode() {
    var offline = state.config && !state.config.online && !state.session;
    whoFields.hidden = !!state.session;
    transcript.hidden = !state.session;
    $("label[for=hd-email]").textContent = offline ? t.emailNeeded : t.email;
    email.required = !!offline;
    $(".send").textContent = state.session ? t.send : (offline ? t.leave : t.start);
  }
  function poll() {
    if (!state.session) return;
    api(state.session + "/messages/?after=" + state.after).then(function (data) {
      data.messages.forEach(add);
    }).catch(function () {}).then(function () {
      clearTimeout(state.timer);
      if (!panel.hidden) state.timer = setTimeout(poll, state.pollMs);
    });
  }
  function open() {
    panel.hidden = false;
    launch.setAttribute("aria-expanded", "true");
    (state.session ? text : (name.offsetParent ? name : text)).focus();
    poll();
  }
  function close() {
    panel.hidden = true;
    launch.setAttribute("aria-expanded", "false");
    clearTimeout(state.timer);
    launch.focus();
  }
  launch.addEventListener("click", function () { panel.hidden ? open() : close(); });
  $(".x").addEventListener("click", close);
  root.addEventListener("keydown", function (e) { if (e.key === "Escape" && !panel.hidden) close(); });
  text.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
  transcript.addEventListener("click", function () {
    var address = email.value || window.prompt(t.emailNeeded) || "";
    api(state.session + "/transcript/", { email: address }).then(function (data) {
      note(t.transcriptSent + data.sent_to);
    }).catch(function (err) { status.textContent = err.message; });
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var body = text.value.trim();
    status.textContent = "";
    if (!body) { text.focus(); return; }
    var offline = state.config && !state.config.online && !state.session;
    var request;
    if (state.session) {
      request = api(state.session + "/messages/", { text: body, client_id: uid() }).then(poll);
    } else if (offline) {
      request = api("offline/", { text: body, name: name.value, email: email.value }).then(function () {
        note(t.sent);
      });
    } else {
      request = api("start/", { text: body, name: name.value, email: email.value, client_id: uid() }).then(function (data) {
        state.session = data.session;
        try { localStorage.setItem(store, JSON.stringify(data.session)); } catch (err) { /* private mode */ }
        log.textContent = "";
        data.messages.forEach(add);
        mode();
        poll();
      });
    }
    request.then(function () { text.value = ""; text.focus(); })
      .catch(function (err) { status.textContent = err.message || t.error; });
  });

  api("config/").then(function (config) {
    if (!config.enabled) return;
    state.config = config;
    state.pollMs = config.poll_ms || 1500;
    $("#hd-title").textContent = config.title;
    if (!state.session) note(config.online ? config.greeting : t.offline);
    mode();
    document.body.appendChild(host);
  }).catch(function () { /* not allowed on this site, or chat off: show nothing */ });
})();
