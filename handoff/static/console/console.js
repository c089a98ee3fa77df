/*
 * tier1 agent console. Plain browser JavaScript, no build step: REST (/api/...) for lists,
 * details and actions; the socket.io namespace /agent for live queue changes, messages,
 * typing and presence. Message content is only ever set with textContent.
 *
 * Reload/reconnect safety: every message carries a growing id. The console keeps the last id
 * it has shown per open conversation and, after a reconnect, asks the server for what came
 * after it ("watch" with after_id); ids already on screen are skipped, so nothing is lost or
 * shown twice. Replies carry a client_id, so a resend after a lost ack is stored once.
 */
(function () {
  "use strict";

  var TOKEN_KEY = "tier1.console.token";
  var OPEN_KEY = "tier1.console.open";
  var ACK_TIMEOUT_MS = 10000;
  var TYPING_IDLE_MS = 3000;

  var base = window.location.pathname.replace(/[^/]*$/, "");
  var api = base + "api";
  var $ = function (id) { return document.getElementById(id); };

  var state = {
    token: storageGet(TOKEN_KEY),
    me: null,
    socket: null,
    heartbeatTimer: null,
    known: null, // queued conversation ids seen so far (null until the first load)
    queue: [],
    mine: [],
    open: null, // the open conversation (API shape)
    shown: {}, // message ids on screen for the open conversation
    lastId: null,
    typingTimer: null,
    typingSent: false,
    userTypingTimer: null,
    agents: [],
  };

  // -- small helpers -----------------------------------------------------------------

  function storageGet(key) { try { return localStorage.getItem(key); } catch (e) { return null; } }
  function storageSet(key, value) {
    try { if (value === null) localStorage.removeItem(key); else localStorage.setItem(key, value); }
    catch (e) { /* private mode */ }
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function newClientId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  function fmtTime(iso) {
    var d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function fmtWait(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function notice(text) { $("notice").textContent = text || ""; $("notice").hidden = !text; }

  function request(method, path, body) {
    var init = { method: method, headers: { Authorization: "Bearer " + state.token } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(api + path, init).then(function (r) {
      if (r.status === 401) { logout("Your session has ended; log in again."); throw new Error("401"); }
      if (r.status === 204) return null;
      return r.json().then(function (data) {
        if (!r.ok) throw new Error((data && data.detail) || ("HTTP " + r.status));
        return data;
      });
    });
  }

  // -- login -------------------------------------------------------------------------

  function showLogin(message) {
    $("app").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
  }

  $("login-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var body = new URLSearchParams({ username: $("login-email").value, password: $("login-password").value });
    fetch(api + "/auth/token", { method: "POST", body: body })
      .then(function (r) { return r.json().then(function (d) { return { ok: r.ok, data: d }; }); })
      .then(function (res) {
        if (!res.ok) { showLogin(res.data.detail || "Login failed."); return; }
        state.token = res.data.access_token;
        storageSet(TOKEN_KEY, state.token);
        start();
      })
      .catch(function () { showLogin("Cannot reach the server; try again."); });
  });

  function logout(message) {
    storageSet(TOKEN_KEY, null);
    state.token = null;
    if (state.socket) { state.socket.disconnect(); state.socket = null; }
    clearInterval(state.heartbeatTimer);
    showLogin(message);
  }

  $("logout").addEventListener("click", function () { logout(""); });

  // -- start ---------------------------------------------------------------------------

  function start() {
    request("GET", "/agents/me").then(function (me) {
      state.me = me;
      $("me").textContent = me.display_name + " (" + me.role + ")";
      $("login").hidden = true;
      $("app").hidden = false;
      connect();
      refreshLists();
      loadCanned();
      loadAgents();
      loadTickets();
      // /console#<conversation id> (an offline ticket's console_url) opens that conversation.
      var linked = decodeURIComponent(window.location.hash.slice(1));
      var open = linked || storageGet(OPEN_KEY);
      if (open) openConversation(open);
    }).catch(function () { /* 401 shows the login */ });
  }

  window.addEventListener("hashchange", function () {
    var linked = decodeURIComponent(window.location.hash.slice(1));
    if (linked && state.token) openConversation(linked);
  });

  // -- offline messages (tickets left while nobody could chat) --------------------------

  var TICKETS_REFRESH_MS = 15000;

  function loadTickets() {
    if (!state.token) return;
    request("GET", "/tickets?status=open").then(function (tickets) {
      renderTickets(tickets);
    }).catch(function () {});
  }

  function renderTickets(tickets) {
    var ul = $("tickets");
    clear(ul);
    $("tickets-count").textContent = tickets.length;
    tickets.forEach(function (t) {
      var li = el("li", "item ticket");
      li.dataset.id = String(t.id);
      var top = el("div", "item__top");
      var mail = el("a", "ticket__email", t.email);
      mail.href = "mailto:" + encodeURIComponent(t.email).replace(/%40/g, "@");
      top.appendChild(mail);
      top.appendChild(el("span", "ticket__time", new Date(t.submitted_at).toLocaleString()));
      li.appendChild(top);
      li.appendChild(el("div", "ticket__message", t.message));
      var actions = el("div", "ticket__actions");
      var view = el("button", "ticket__open", "Transcript");
      view.type = "button";
      view.addEventListener("click", function () { openConversation(t.conversation_id); });
      var close = el("button", "ticket__close", "Close");
      close.type = "button";
      close.addEventListener("click", function () {
        close.disabled = true;
        request("POST", "/tickets/" + t.id + "/close").then(loadTickets).catch(function (e) {
          close.disabled = false;
          if (String(e.message) !== "401") notice(e.message);
          loadTickets();
        });
      });
      actions.appendChild(view);
      actions.appendChild(close);
      li.appendChild(actions);
      ul.appendChild(li);
    });
  }

  setInterval(loadTickets, TICKETS_REFRESH_MS);

  // -- socket --------------------------------------------------------------------------

  function connect() {
    var socket = window.io("/agent", { path: base + "socket.io", auth: { token: state.token } });
    state.socket = socket;
    socket.on("connect", function () {
      $("conn").textContent = "Online";
      $("conn").classList.add("bar__conn--online");
      if (state.open) watch(state.open.id); // replays what we missed while away
      refreshLists();
    });
    socket.on("disconnect", function () {
      $("conn").textContent = "Reconnecting…";
      $("conn").classList.remove("bar__conn--online");
    });
    socket.on("connect_error", function (err) {
      $("conn").textContent = "Offline";
      if (err && /token|credentials|log in/i.test(err.message || "")) logout("Please log in again.");
    });
    socket.on("hello", function (data) {
      clearInterval(state.heartbeatTimer);
      var every = Math.max(1, (data && data.heartbeat_interval_seconds) || 10) * 1000;
      state.heartbeatTimer = setInterval(heartbeat, every);
      heartbeat();
    });
    socket.on("queue", function () { scheduleRefresh(); loadTickets(); });
    socket.on("presence", function () { loadAgents(); });
    socket.on("message", function (message) {
      if (state.open && message.conversation_id === state.open.id) renderMessage(message);
      scheduleRefresh();
    });
    socket.on("typing", function (data) {
      if (!state.open || data.conversation_id !== state.open.id || data.sender !== "user") return;
      $("user-typing").hidden = !data.typing;
      clearTimeout(state.userTypingTimer);
      if (data.typing) state.userTypingTimer = setTimeout(function () { $("user-typing").hidden = true; }, 6000);
    });
    socket.on("csat", function (data) {
      if (state.open && data.conversation_id === state.open.id) notice("The user rated this chat " + data.rating + "/5.");
    });
  }

  function heartbeat() {
    if (!state.socket || !state.socket.connected) return;
    var away = $("away").checked || document.hidden;
    state.socket.emit("heartbeat", { state: away ? "away" : "online" });
  }
  $("away").addEventListener("change", heartbeat);
  document.addEventListener("visibilitychange", heartbeat);

  function watch(conversationId) {
    state.socket.timeout(ACK_TIMEOUT_MS).emit(
      "watch", { conversation_id: conversationId, after_id: state.lastId },
      function (err, ack) {
        if (err || !ack || !ack.ok || !state.open || state.open.id !== conversationId) return;
        ack.messages.forEach(renderMessage);
      }
    );
  }

  // -- queue lists ---------------------------------------------------------------------

  var refreshTimer = null;
  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refreshLists, 150);
  }

  function refreshLists() {
    if (!state.token) return;
    Promise.all([
      request("GET", "/conversations?status=queued"),
      request("GET", "/conversations?status=assigned&mine=true"),
    ]).then(function (lists) {
      var fetchedAt = Date.now();
      lists[0].forEach(function (c) { c._fetchedAt = fetchedAt; });
      var fresh = [];
      if (state.known !== null) {
        lists[0].forEach(function (c) { if (!state.known[c.id]) fresh.push(c.id); });
      }
      state.known = state.known || {};
      lists[0].forEach(function (c) { state.known[c.id] = true; });
      state.queue = lists[0];
      state.mine = lists[1];
      renderLists(fresh);
      if (fresh.length) alertNew(fresh.length);
      if (state.open) {
        var current = lists[0].concat(lists[1]).filter(function (c) { return c.id === state.open.id; })[0];
        if (current && (current.status !== state.open.status ||
            (current.assignee && current.assignee.id) !== (state.open.assignee && state.open.assignee.id))) {
          reloadOpen();
        } else if (!current && (state.open.status === "queued" || state.open.status === "assigned")) {
          reloadOpen();
        }
      }
    }).catch(function () {});
  }

  function renderLists(fresh) {
    renderList($("queue"), state.queue, fresh || []);
    renderList($("mine"), state.mine, []);
    $("queue-count").textContent = state.queue.length;
    $("mine-count").textContent = state.mine.length;
    updateTitle();
  }

  function renderList(ul, items, fresh) {
    clear(ul);
    items.forEach(function (c) {
      var li = el("li", "item" + (state.open && state.open.id === c.id ? " item--active" : "") +
        (fresh.indexOf(c.id) >= 0 ? " item--new" : ""));
      li.dataset.id = c.id;
      var top = el("div", "item__top");
      top.appendChild(el("span", "item__reason", c.reason || c.status));
      if (c.status === "queued") {
        var wait = el("span", "item__wait", fmtWait(c.wait_seconds || 0));
        wait.dataset.wait = String(c.wait_seconds || 0);
        wait.dataset.at = String(c._fetchedAt || Date.now());
        top.appendChild(wait);
      }
      li.appendChild(top);
      if (c.priority) li.appendChild(el("div", "item__prio", "priority " + c.priority));
      li.appendChild(el("div", "item__last", c.last_message || ""));
      li.addEventListener("click", function () { openConversation(c.id); });
      ul.appendChild(li);
    });
  }

  // Live wait times: tick every second from the server's figure at fetch time.
  setInterval(function () {
    document.querySelectorAll(".item__wait").forEach(function (node) {
      var seconds = Number(node.dataset.wait) + (Date.now() - Number(node.dataset.at)) / 1000;
      node.textContent = fmtWait(seconds);
    });
  }, 1000);

  // -- notifications -------------------------------------------------------------------

  var unseen = 0;
  function updateTitle() {
    var n = state.queue.length;
    document.title = (n ? "(" + n + ") " : "") + (unseen ? "● " : "") + "Agent console · tier1";
  }

  function alertNew(count) {
    if (document.hidden || !document.hasFocus()) unseen += count;
    updateTitle();
    beep();
  }
  window.addEventListener("focus", function () { unseen = 0; updateTitle(); });

  var audio = null;
  function beep() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      audio = audio || new Ctx();
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.001, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.2, audio.currentTime + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.35);
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.4);
      window.tier1Beeps = (window.tier1Beeps || 0) + 1; // observable by tests
    } catch (e) { /* autoplay policies may refuse before the first click; the badge remains */ }
  }

  // -- the open conversation -----------------------------------------------------------

  function openConversation(id) {
    if (state.open && state.open.id !== id && state.socket) {
      state.socket.emit("unwatch", { conversation_id: state.open.id });
    }
    stopTyping();
    request("GET", "/conversations/" + encodeURIComponent(id)).then(function (c) {
      state.open = c;
      state.shown = {};
      state.lastId = null;
      storageSet(OPEN_KEY, c.id);
      clear($("transcript"));
      c.messages.forEach(renderMessage);
      showConversation(c);
      if (state.socket && state.socket.connected) watch(c.id);
      renderLists([]);
    }).catch(function (e) {
      if (String(e.message) !== "401") { storageSet(OPEN_KEY, null); notice(e.message); }
    });
  }

  function reloadOpen() {
    if (!state.open) return;
    request("GET", "/conversations/" + encodeURIComponent(state.open.id)).then(function (c) {
      state.open = c;
      c.messages.forEach(renderMessage);
      showConversation(c);
    }).catch(function () {});
  }

  function showConversation(c) {
    $("empty").hidden = true;
    $("conv-body").hidden = false;
    var holder = c.assignee ? " · " + (c.assignee.display_name || "agent " + c.assignee.id) : "";
    $("conv-status").textContent = c.status + holder;
    $("conv-reason").textContent = c.reason ? "Reason: " + c.reason : "";
    var mineNow = c.status === "assigned" && c.assignee && state.me && c.assignee.id === state.me.id;
    $("claim").disabled = c.status !== "queued";
    $("resolve").disabled = !(mineNow || c.status === "queued");
    $("handback").disabled = !(mineNow || c.status === "queued");
    $("transfer").disabled = !mineNow;
    $("transfer-to").disabled = !mineNow;
    $("send").disabled = false;
    renderContext(c);
    renderAgents();
  }

  function renderContext(c) {
    var ctx = c.context || {};
    $("ctx-reason").textContent = c.reason || "—";
    $("ctx-question").textContent = ctx.last_user_message || ctx.last_question || "—";
    var hits = $("ctx-hits");
    clear(hits);
    (Array.isArray(ctx.kb_hits) ? ctx.kb_hits : []).forEach(function (h) {
      var li = el("li", "hit");
      li.appendChild(el("div", "hit__title", h.title || ("Article " + h.article_id)));
      if (typeof h.score === "number") li.appendChild(el("div", "hit__score", "score " + h.score.toFixed(2)));
      hits.appendChild(li);
    });
    if (!hits.childNodes.length) hits.appendChild(el("li", "hit", "No hits recorded."));
    var meta = $("ctx-meta");
    clear(meta);
    var md = c.user_metadata || {};
    Object.keys(md).forEach(function (k) {
      meta.appendChild(el("dt", null, k));
      meta.appendChild(el("dd", null, typeof md[k] === "object" ? JSON.stringify(md[k]) : md[k]));
    });
    meta.appendChild(el("dt", null, "conversation"));
    meta.appendChild(el("dd", null, c.id));
    meta.appendChild(el("dt", null, "started"));
    meta.appendChild(el("dd", null, new Date(c.created_at).toLocaleString()));
  }

  function renderMessage(m) {
    if (!m || typeof m.id !== "number" || state.shown[m.id]) return;
    if (state.open && m.conversation_id && m.conversation_id !== state.open.id) return;
    state.shown[m.id] = true;
    if (state.lastId === null || m.id > state.lastId) state.lastId = m.id;
    // A pending bubble for this client_id is replaced by the stored message.
    if (m.client_id) {
      var pending = document.querySelector('.msg--pending[data-client-id="' + CSS.escape(m.client_id) + '"]');
      if (pending) pending.remove();
    }
    var li = el("li", "msg msg--" + m.sender);
    li.dataset.id = String(m.id);
    var who = m.sender === "agent" || m.sender === "note"
      ? (m.agent_name || "Agent") + (m.sender === "note" ? " · internal note" : "")
      : m.sender === "user" ? "User" : m.sender === "bot" ? "Bot" : "System";
    li.appendChild(el("div", "msg__meta", who + " · " + fmtTime(m.created_at)));
    li.appendChild(el("div", "msg__text", m.text));
    var buttons = m.payload && m.payload.buttons;
    if (Array.isArray(buttons) && buttons.length) {
      li.appendChild(el("div", "msg__meta", "Options: " + buttons.map(function (b) { return b.title; }).join(" · ")));
    }
    // Keep id order even if pushes arrive out of order.
    var log = $("transcript"), after = null;
    for (var node = log.lastChild; node; node = node.previousSibling) {
      if (node.dataset.id && Number(node.dataset.id) < m.id) { after = node; break; }
    }
    if (after) log.insertBefore(li, after.nextSibling);
    else if (log.firstChild && log.firstChild.dataset.id) log.insertBefore(li, log.firstChild);
    else log.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }

  // -- actions -------------------------------------------------------------------------

  function act(path, body) {
    if (!state.open) return;
    notice("");
    request("POST", "/conversations/" + encodeURIComponent(state.open.id) + path, body)
      .then(function () { reloadOpen(); refreshLists(); })
      .catch(function (e) { if (String(e.message) !== "401") notice(e.message); reloadOpen(); });
  }

  $("claim").addEventListener("click", function () { act("/claim"); });
  $("resolve").addEventListener("click", function () { act("/resolve"); });
  $("handback").addEventListener("click", function () { act("/handback"); });
  $("transfer").addEventListener("click", function () {
    var value = $("transfer-to").value;
    act("/transfer", { agent_id: value === "" ? null : Number(value) });
  });

  function loadAgents() {
    request("GET", "/agents").then(function (agents) { state.agents = agents; renderAgents(); }).catch(function () {});
  }

  function renderAgents() {
    var select = $("transfer-to");
    var keep = select.value;
    clear(select);
    var queue = el("option", null, "Back to the queue");
    queue.value = "";
    select.appendChild(queue);
    state.agents.forEach(function (a) {
      if (state.me && a.id === state.me.id) return;
      var o = el("option", null, a.display_name + " — " + a.presence + " (" + a.active + "/" + a.capacity + ")");
      o.value = String(a.id);
      select.appendChild(o);
    });
    select.value = keep;
  }

  // -- reply box -----------------------------------------------------------------------

  function mode() { return document.querySelector('input[name="mode"]:checked').value; }
  document.querySelectorAll('input[name="mode"]').forEach(function (r) {
    r.addEventListener("change", function () {
      $("reply-form").classList.toggle("reply--note", mode() === "note");
      $("reply").placeholder = mode() === "note" ? "An internal note (the user never sees it)…" : "Type a reply…";
    });
  });

  $("reply-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = $("reply").value.trim();
    if (!text || !state.open) return;
    var clientId = newClientId();
    var kind = mode();
    var pending = el("li", "msg msg--" + (kind === "note" ? "note" : "agent") + " msg--pending");
    pending.dataset.clientId = clientId;
    pending.appendChild(el("div", "msg__meta", "Sending…"));
    pending.appendChild(el("div", "msg__text", text));
    $("transcript").appendChild(pending);
    $("reply").value = "";
    stopTyping();
    sendMessage(kind, state.open.id, text, clientId, pending, 0);
  });

  function sendMessage(kind, conversationId, text, clientId, pending, attempt) {
    if (!state.socket || !state.socket.connected) {
      // Wait for the reconnect; the client_id keeps a resend idempotent.
      setTimeout(function () { sendMessage(kind, conversationId, text, clientId, pending, attempt); }, 500);
      return;
    }
    state.socket.timeout(ACK_TIMEOUT_MS).emit(
      kind === "note" ? "note" : "send",
      { conversation_id: conversationId, text: text, client_id: clientId },
      function (err, ack) {
        if (err) {
          if (attempt < 3) sendMessage(kind, conversationId, text, clientId, pending, attempt + 1);
          else pending.querySelector(".msg__meta").textContent = "Not sent (no answer from the server).";
          return;
        }
        if (ack && ack.ok) { renderMessage(ack.message); pending.remove(); return; }
        pending.querySelector(".msg__meta").textContent = "Not sent: " + ((ack && ack.error) || "error");
      }
    );
  }

  $("reply").addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("reply-form").requestSubmit();
    }
  });

  $("reply").addEventListener("input", function () {
    if (!state.open || mode() !== "reply" || !state.socket) return;
    if (!state.typingSent) {
      state.typingSent = true;
      state.socket.emit("typing", { conversation_id: state.open.id, typing: true });
    }
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  });

  function stopTyping() {
    clearTimeout(state.typingTimer);
    if (state.typingSent && state.open && state.socket) {
      state.socket.emit("typing", { conversation_id: state.open.id, typing: false });
    }
    state.typingSent = false;
  }

  function insertText(text) {
    var box = $("reply");
    box.value = box.value ? box.value.replace(/\s*$/, "\n") + text : text;
    box.focus();
  }

  // -- canned responses and KB search ----------------------------------------------------

  function loadCanned() {
    request("GET", "/canned-responses").then(function (items) {
      var select = $("canned");
      items.forEach(function (c) {
        var o = el("option", null, "/" + c.shortcut + " — " + c.text.slice(0, 40));
        o.value = c.text;
        select.appendChild(o);
      });
    }).catch(function () {});
  }

  $("canned").addEventListener("change", function () {
    if (this.value) insertText(this.value);
    this.value = "";
  });

  $("kb-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var q = $("kb-query").value.trim();
    if (!q) return;
    var results = $("kb-results");
    clear(results);
    request("POST", "/kb/search", { text: q }).then(function (res) {
      (res.hits || []).forEach(function (h) {
        var li = el("li", "hit");
        li.appendChild(el("div", "hit__title", h.title));
        li.appendChild(el("div", "hit__score", "score " + Number(h.score).toFixed(2)));
        li.appendChild(el("div", "hit__answer", h.answer));
        var b = el("button", "hit__insert", "Insert");
        b.type = "button";
        b.addEventListener("click", function () { insertText(h.answer + (h.url ? "\n" + h.url : "")); });
        li.appendChild(b);
        results.appendChild(li);
      });
      if (!results.childNodes.length) results.appendChild(el("li", "hit", "No articles found."));
    }).catch(function (e) { results.appendChild(el("li", "hit", e.message)); });
  });

  if (state.token) start(); else showLogin("");
})();
