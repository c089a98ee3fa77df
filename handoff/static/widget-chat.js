/*
 * tier1 widget: the conversation over socket.io (rasa-webchat's events plus tier1's).
 *
 * Nothing is lost: every message gets a client id and waits in an outbox (localStorage)
 * until the server acknowledges it, which it does only after storing it. After a
 * (re)connect the widget rejoins its conversation with its signed session token, replays
 * what it missed (history after the last message id it has), then resends the outbox;
 * the server drops resends it already stored, and the view never shows one message twice.
 */
(function () {
  "use strict";
  var NS = (window.Tier1Widget = window.Tier1Widget || {});

  var KEYS = { session: "tier1.session_id", token: "tier1.session_token", outbox: "tier1.outbox",
               open: "tier1.open" };
  var ACK_TIMEOUT_MS = 8000;
  var RETRY_MS = 3000;
  var TYPING_IDLE_MS = 3000;
  var THINKING_MS = 20000;

  function storageGet(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }

  function storageSet(key, value) {
    try {
      if (value === null || value === undefined) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, value);
    } catch (e) { /* private mode: the session lasts as long as the page */ }
  }

  function newClientId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  /* options: {root (shadow root), config, io, origin, socketPath, open, customData} */
  NS.mount = function (options) {
    var config = options.config;
    var s = config.strings;
    var socket = options.io(options.origin, { path: options.socketPath, autoConnect: false });

    var sessionId = storageGet(KEYS.session);
    var token = storageGet(KEYS.token);
    var status = null; // bot | queued | assigned | resolved
    var lastId = null; // the replay cursor: the highest message id shown
    var shown = {}; // message ids on screen
    var bubbles = {}; // client_id -> user bubble waiting for its acknowledgement
    var outbox = loadOutbox(); // [{client_id, text, label, inline}] in send order
    var ready = false; // joined and replayed: live messages may be shown directly
    var buffered = []; // live messages that arrived while replaying
    var typingSent = false;
    var typingTimer = null;
    var agentTypingTimer = null;
    var thinkingTimer = null;

    var view = NS.createView(options.root, config, {
      send: send,
      newChat: newChat,
      typing: userTyping,
      opened: function () { storageSet(KEYS.open, "1"); },
    });

    function loadOutbox() {
      try {
        var list = JSON.parse(storageGet(KEYS.outbox) || "[]");
        return Array.isArray(list) ? list.filter(function (e) { return e && e.client_id && e.text; }) : [];
      } catch (e) {
        return [];
      }
    }

    function saveOutbox() {
      storageSet(KEYS.outbox, outbox.length ? JSON.stringify(outbox) : null);
    }

    function markShown(id) {
      if (typeof id !== "number") return false;
      if (shown[id]) return true;
      shown[id] = true;
      if (lastId === null || id > lastId) lastId = id;
      return false;
    }

    // -- incoming ----------------------------------------------------------------------

    function render(message, isLive) {
      if (!message || typeof message !== "object") return;
      var meta = message.metadata || {};
      if (markShown(meta.message_id)) return;
      if (meta.sender === "user") {
        var clientId = meta.client_id;
        if (clientId && bubbles[clientId]) {
          acknowledged(clientId, meta.message_id); // stored; the acknowledgement was lost
          return;
        }
        if (clientId && inOutbox(clientId)) drop(clientId); // stored before a reload
        // An answer to "Did this help?" is shown on the prompt, not as a bubble.
        if (view.answerFeedback(message.text, meta.message_id)) return;
        var text = meta.display_text || message.text;
        if (text) {
          var item = view.addUser(text, "sent", meta.created_at);
          if (typeof meta.message_id === "number") item.dataset.id = String(meta.message_id);
        }
        return;
      }
      if (meta.sender === "agent") showAgentTyping(false);
      if (meta.sender !== "system") thinking(false);
      if ((meta.sender === "agent" || meta.sender === "system") && meta.agent_name) {
        view.setAgent(meta.agent_name); // "Ana joined the chat", her replies, a transfer to her
      }
      view.addMessage(message, isLive);
    }

    function replay(done) {
      socket.timeout(ACK_TIMEOUT_MS).emit(
        "history", { session_id: sessionId, after_id: lastId },
        function (err, messages) {
          if (!err && Array.isArray(messages)) {
            messages.forEach(function (m) { render(m, false); });
          }
          done();
        }
      );
    }

    // -- outgoing ----------------------------------------------------------------------

    /* anchor: the element that shows this message's state instead of a new bubble (the
       feedback prompt the user just answered). */
    function send(text, label, anchor) {
      var entry = { client_id: newClientId(), text: text, label: label || null, inline: !!anchor };
      outbox.push(entry);
      saveOutbox();
      bubbles[entry.client_id] = anchor || view.addUser(entry.label || entry.text, "sending");
      transmit(entry);
    }

    function transmit(entry) {
      if (!ready || !socket.connected) return; // flushed after the next join
      var custom = {};
      Object.keys(options.customData || {}).forEach(function (k) { custom[k] = options.customData[k]; });
      // A button's title, so a reload shows what the user clicked rather than its payload.
      if (entry.label) custom.display_text = entry.label;
      var payload = { message: entry.text, session_id: sessionId, customData: custom,
                      client_id: entry.client_id };
      socket.timeout(ACK_TIMEOUT_MS).emit("user_uttered", payload, function (err, ack) {
        var bubble = bubbles[entry.client_id];
        if (err) {
          // No acknowledgement: still in the outbox; resending the same client id is safe.
          if (bubble) view.setUserState(bubble, "failed", s.not_sent);
          setTimeout(function () { if (inOutbox(entry.client_id)) transmit(entry); }, RETRY_MS);
          return;
        }
        if (ack && ack.ok) {
          if (!ack.duplicate && status === "bot") thinking(true);
          acknowledged(entry.client_id, ack.message_id);
        } else {
          // Refused (e.g. too long): resending would be refused again. The message says why;
          // the same words in the notice (the server's `error` event) would say it twice.
          drop(entry.client_id);
          if (bubble) {
            view.setUserState(bubble, "failed", (ack && ack.error) || s.not_sent);
            view.hideNotice(ack && ack.error);
          }
          delete bubbles[entry.client_id];
        }
      });
    }

    function inOutbox(clientId) {
      return outbox.some(function (e) { return e.client_id === clientId; });
    }

    function drop(clientId) {
      outbox = outbox.filter(function (e) { return e.client_id !== clientId; });
      saveOutbox();
    }

    function acknowledged(clientId, messageId) {
      markShown(messageId);
      var bubble = bubbles[clientId];
      if (bubble) {
        view.setUserState(bubble, "sent");
        if (typeof messageId === "number") bubble.dataset.id = String(messageId);
      }
      delete bubbles[clientId];
      drop(clientId);
    }

    function flushOutbox() {
      outbox.forEach(function (entry) {
        if (!bubbles[entry.client_id]) {
          bubbles[entry.client_id] = (entry.inline && view.answerFeedback(entry.text)) ||
            view.addUser(entry.label || entry.text, "sending");
        } else {
          view.setUserState(bubbles[entry.client_id], "sending");
        }
        transmit(entry);
      });
    }

    // -- indicators ----------------------------------------------------------------------

    function thinking(on) {
      clearTimeout(thinkingTimer);
      if (on) {
        view.setTyping({ text: s.bot_thinking });
        thinkingTimer = setTimeout(function () { thinking(false); }, THINKING_MS);
      } else if (!agentTypingTimer) {
        view.setTyping(null);
      }
    }

    function showAgentTyping(on, name) {
      clearTimeout(agentTypingTimer);
      agentTypingTimer = null;
      if (on) {
        name = name || s.agent_fallback_name;
        view.setTyping({ text: view.fill(s.agent_typing, { name: name }), name: name });
        agentTypingTimer = setTimeout(function () { showAgentTyping(false); }, 8000);
      } else {
        view.setTyping(null);
      }
    }

    function userTyping(on) {
      clearTimeout(typingTimer);
      if (on) typingTimer = setTimeout(function () { userTyping(false); }, TYPING_IDLE_MS);
      if (on === typingSent || !ready || !socket.connected) return;
      typingSent = on;
      socket.emit("user_typing", { session_id: sessionId, typing: on });
    }

    function setQueue(info) {
      if (!info) return;
      if (info.status) status = info.status;
      if (status !== "bot") thinking(false);
      view.setQueue(info);
    }

    // -- session ---------------------------------------------------------------------------

    function join() {
      ready = false;
      // replay: false - this widget fetches what it missed with `history` (user messages too).
      var request = {
        session_id: sessionId, session_token: token, customData: options.customData || {}, replay: false,
      };
      socket.timeout(ACK_TIMEOUT_MS).emit("session_request", request, function (err, ack) {
        if (err || !ack || !ack.session_id) {
          setTimeout(function () { if (socket.connected) join(); }, RETRY_MS);
          return;
        }
        if (ack.session_id !== sessionId) {
          // Another conversation (a new chat, or the old one could not be resumed).
          resetView();
        }
        sessionId = ack.session_id;
        token = ack.session_token;
        storageSet(KEYS.session, sessionId);
        storageSet(KEYS.token, token);
        setQueue(ack.queue || { status: ack.status });
        if (ack.availability) view.setAvailability(ack.availability.agents_available);
        view.showNotice("");
        replay(function () {
          ready = true;
          var live = buffered;
          buffered = [];
          live.forEach(function (m) { render(m, true); });
          view.welcome();
          flushOutbox();
        });
      });
    }

    function resetView() {
      view.clear();
      view.setAgent(null);
      shown = {};
      lastId = null;
      Object.keys(bubbles).forEach(function (k) { delete bubbles[k]; });
    }

    function newChat() {
      sessionId = null;
      token = null;
      storageSet(KEYS.session, null);
      storageSet(KEYS.token, null);
      outbox = [];
      saveOutbox();
      resetView();
      view.setQueue({ status: "bot" });
      if (socket.connected) join();
    }

    socket.on("connect", function () {
      view.setConnection("online");
      join();
    });
    socket.on("disconnect", function () {
      ready = false;
      view.setConnection("offline");
      thinking(false);
    });
    socket.on("connect_error", function () { view.setConnection("offline"); });
    window.addEventListener("offline", function () { view.setConnection("offline"); });

    socket.on("bot_uttered", function (message) {
      if (ready) render(message, true);
      else buffered.push(message);
    });
    socket.on("agent_typing", function (data) {
      showAgentTyping(!!(data && data.typing), data && data.agent_name);
    });
    socket.on("queue_position", setQueue);
    socket.on("availability", function (info) {
      if (info) view.setAvailability(info.agents_available);
    });
    socket.on("error", function (data) {
      view.showNotice((data && data.error) || "Something went wrong.");
    });

    view.setConnection("connecting");
    if (options.open || storageGet(KEYS.open) === "1") view.open();
    socket.connect();

    var api = {
      socket: socket,
      open: view.open,
      close: view.close,
      send: send,
      session: function () { return { session_id: sessionId, status: status, last_id: lastId }; },
    };
    NS.instance = api;
    return api;
  };
})();
