/*
 * tier1 demo chat widget. Speaks rasa-webchat's socket.io events with the tier1 gateway:
 * session_request -> session_confirm, user_uttered (acknowledged once stored), bot_uttered,
 * and history (replay after a reconnect). Message content is only ever set with textContent.
 */
(function () {
  "use strict";

  var STORAGE_KEY = "tier1.session_id";
  var ACK_TIMEOUT_MS = 10000;

  // The page's own directory (the app's root, or a proxy's prefix): socket.io lives there.
  var base = window.location.pathname.replace(/[^/]*$/, "");
  var socket = window.io({ path: base + "socket.io", autoConnect: false });

  var log = document.getElementById("log");
  var form = document.getElementById("form");
  var input = document.getElementById("input");
  var statusLine = document.getElementById("status");
  var notice = document.getElementById("notice");
  var newChat = document.getElementById("new-chat");
  var typingLine = document.getElementById("typing");
  var TYPING_IDLE_MS = 3000;
  var typingSent = false;
  var typingTimer = null;
  var agentTypingTimer = null;

  var sessionId = storageGet(STORAGE_KEY);
  var lastId = null; // highest message id shown: the replay cursor
  var shown = {}; // message ids already on screen
  var pending = {}; // client_id -> {text, item}, in send order
  var pendingOrder = [];

  function storageGet(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }

  function storageSet(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, value);
    } catch (e) { /* private mode: the session lasts as long as the page */ }
  }

  function newClientId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function setStatus(text, online) {
    statusLine.textContent = text;
    statusLine.classList.toggle("chat__status--online", !!online);
  }

  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = !text;
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function markShown(id) {
    if (typeof id !== "number") return false;
    if (shown[id]) return true;
    shown[id] = true;
    if (lastId === null || id > lastId) lastId = id;
    return false;
  }

  function safeUrl(value) {
    try {
      var url = new URL(String(value), window.location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  // -- rendering ---------------------------------------------------------------------

  function renderUser(text, state) {
    var item = el("li", "msg msg--user msg--" + state);
    item.appendChild(el("div", "msg__bubble", text));
    item.appendChild(el("div", "msg__meta", state === "sending" ? "Sending…" : ""));
    log.appendChild(item);
    scrollDown();
    return item;
  }

  function setUserState(item, state, detail) {
    item.classList.remove("msg--sending", "msg--sent", "msg--failed");
    item.classList.add("msg--" + state);
    var meta = item.querySelector(".msg__meta");
    meta.textContent = state === "sent" ? "Sent" : state === "sending" ? "Sending…" : detail || "Not sent";
  }

  function renderQuickReplies(container, replies) {
    var group = el("div", "replies");
    replies.forEach(function (reply) {
      if (!reply || typeof reply.payload !== "string") return;
      var button = el("button", "replies__button", reply.title || reply.payload);
      button.type = "button";
      button.addEventListener("click", function () {
        group.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
        send(reply.payload, reply.title || reply.payload);
      });
      group.appendChild(button);
    });
    if (group.childNodes.length) container.appendChild(group);
  }

  // A bot_uttered message (or a history item, which has the same shape).
  function render(message) {
    if (!message || typeof message !== "object") return;
    var meta = message.metadata || {};
    if (markShown(meta.message_id)) return;
    var sender = meta.sender || "bot";
    if (sender === "user") {
      if (message.text) setUserState(renderUser(message.text, "sent"), "sent");
      return;
    }
    var item = el("li", "msg msg--" + (sender === "agent" || sender === "system" ? sender : "bot"));
    if (sender === "agent") item.appendChild(el("div", "msg__name", meta.agent_name || "Agent"));
    if (message.text) item.appendChild(el("div", "msg__bubble", message.text));
    var attachment = message.attachment;
    if (attachment && attachment.type === "image" && attachment.payload) {
      var src = safeUrl(attachment.payload.src);
      if (src) {
        var img = el("img", "msg__image");
        img.src = src;
        img.alt = "";
        item.appendChild(img);
      }
    }
    var source = meta.source;
    if (source && safeUrl(source.url)) {
      var line = el("div", "msg__source", "Source: ");
      var link = el("a", null, source.title || source.url);
      link.href = safeUrl(source.url);
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      line.appendChild(link);
      item.appendChild(line);
    }
    if (Array.isArray(message.quick_replies)) renderQuickReplies(item, message.quick_replies);
    if (!item.childNodes.length) return;
    log.appendChild(item);
    scrollDown();
  }

  // -- sending -----------------------------------------------------------------------

  function send(text, shownText) {
    var clientId = newClientId();
    var item = renderUser(shownText || text, "sending");
    pending[clientId] = { text: text, item: item };
    pendingOrder.push(clientId);
    transmit(clientId);
  }

  function transmit(clientId) {
    var entry = pending[clientId];
    if (!entry || !socket.connected || !sessionId) return; // flushed after session_confirm
    setUserState(entry.item, "sending");
    var payload = { message: entry.text, session_id: sessionId, customData: {}, client_id: clientId };
    socket.timeout(ACK_TIMEOUT_MS).emit("user_uttered", payload, function (err, ack) {
      if (err) {
        // No acknowledgement: resending with the same client_id is safe (idempotent).
        failed(clientId, "Not sent.");
        return;
      }
      if (ack && ack.ok) {
        markShown(ack.message_id);
        setUserState(entry.item, "sent");
        forget(clientId);
      } else {
        setUserState(entry.item, "failed", (ack && ack.error) || "Not sent.");
        forget(clientId);
      }
    });
  }

  function failed(clientId, text) {
    var entry = pending[clientId];
    if (!entry) return;
    setUserState(entry.item, "failed", text);
    var retry = el("button", "retry", "Retry");
    retry.type = "button";
    retry.addEventListener("click", function () { transmit(clientId); });
    entry.item.querySelector(".msg__meta").appendChild(retry);
  }

  function forget(clientId) {
    delete pending[clientId];
    pendingOrder = pendingOrder.filter(function (id) { return id !== clientId; });
  }

  function flushPending() {
    pendingOrder.slice().forEach(transmit);
  }

  // -- session -----------------------------------------------------------------------

  function resetView() {
    while (log.firstChild) log.removeChild(log.firstChild);
    shown = {};
    lastId = null;
  }

  socket.on("connect", function () {
    setStatus("Connected", true);
    socket.emit("session_request", { session_id: sessionId });
  });

  socket.on("session_confirm", function (data) {
    var confirmed = typeof data === "string" ? data : data && data.session_id;
    if (!confirmed) return;
    if (confirmed !== sessionId) resetView(); // a new conversation: nothing to keep on screen
    sessionId = confirmed;
    storageSet(STORAGE_KEY, sessionId);
    showNotice("");
    socket.emit("history", { session_id: sessionId, after_id: lastId }, function (messages) {
      if (Array.isArray(messages)) messages.forEach(render);
      flushPending();
    });
  });

  socket.on("bot_uttered", function (message) {
    var meta = (message && message.metadata) || {};
    if (meta.sender === "agent") showAgentTyping(false);
    render(message);
  });

  // An agent's typing indicator (tier1's extension of the rasa-webchat events).
  socket.on("agent_typing", function (data) {
    showAgentTyping(!!(data && data.typing), data && data.agent_name);
  });

  function showAgentTyping(on, name) {
    clearTimeout(agentTypingTimer);
    typingLine.textContent = on ? (name || "An agent") + " is typing…" : "";
    typingLine.hidden = !on;
    if (on) agentTypingTimer = setTimeout(function () { showAgentTyping(false); }, 8000);
  }

  function userTyping(on) {
    clearTimeout(typingTimer);
    if (on) typingTimer = setTimeout(function () { userTyping(false); }, TYPING_IDLE_MS);
    if (on === typingSent || !socket.connected || !sessionId) return;
    typingSent = on;
    socket.emit("user_typing", { session_id: sessionId, typing: on });
  }

  socket.on("error", function (data) {
    showNotice((data && data.error) || "Something went wrong.");
  });

  socket.on("disconnect", function () {
    setStatus("Reconnecting…", false);
  });

  socket.on("connect_error", function () {
    setStatus("Cannot reach the server; retrying…", false);
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    input.style.height = "";
    userTyping(false);
    send(text);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
    }
  });

  input.addEventListener("input", function () {
    userTyping(input.value.trim().length > 0);
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  });

  newChat.addEventListener("click", function () {
    sessionId = null;
    storageSet(STORAGE_KEY, null);
    pending = {};
    pendingOrder = [];
    resetView();
    if (socket.connected) socket.emit("session_request", { session_id: null });
  });

  socket.connect();
})();
