/*
 * tier1 agent console: login, the socket, presence and the layout; loaded last, it starts
 * the console.
 *
 * REST (/api/...) serves lists, details and actions; the socket.io namespace /agent pushes
 * queue changes, messages, typing, activity and presence, which this file re-emits as
 * "socket:<name>" events for the other modules.
 */
(function (C) {
  "use strict";

  var TOKEN_KEY = "tier1.console.token";
  C.state.token = C.storageGet(TOKEN_KEY);

  // -- login ---------------------------------------------------------------------------------

  function showLogin(message) {
    C.$("app").hidden = true;
    C.$("login").hidden = false;
    C.$("login-error").textContent = message || "";
    document.title = "Log in · Agent console · tier1";
    C.$("login-email").focus();
  }

  C.$("login-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var submit = C.$("login-submit");
    submit.disabled = true;
    submit.textContent = "Logging in…";
    C.$("login-error").textContent = "";
    var body = new URLSearchParams({
      username: C.$("login-email").value, password: C.$("login-password").value,
    });
    fetch(C.api + "/auth/token", { method: "POST", body: body })
      .then(function (r) { return r.json().then(function (d) { return { ok: r.ok, data: d }; }); })
      .then(function (res) {
        if (!res.ok) { showLogin(C.detail(res.data, "an error") || "Login failed."); return; }
        C.state.token = res.data.access_token;
        C.storageSet(TOKEN_KEY, C.state.token);
        C.$("login-password").value = "";
        start();
      })
      .catch(function () { showLogin("Cannot reach the server; try again."); })
      .then(function () { submit.disabled = false; submit.textContent = "Log in"; });
  });

  function logout(message) {
    C.storageSet(TOKEN_KEY, null);
    C.state.token = null;
    C.state.open = null;
    if (C.state.socket) { C.state.socket.disconnect(); C.state.socket = null; }
    clearInterval(heartbeatTimer);
    showLogin(message);
  }

  C.on("unauthorized", function () { logout("Your session has ended; log in again."); });
  C.$("logout").addEventListener("click", function () { logout(""); });

  // -- start ---------------------------------------------------------------------------------

  function start() {
    C.request("GET", "/agents/me").then(function (me) {
      C.state.me = me;
      C.$("me").textContent = me.display_name;
      C.$("me").title = me.email + " · " + me.role;
      C.$("login").hidden = true;
      C.$("app").hidden = false;
      C.showPane(window.location.hash.length > 1 ? "conv" : "list");
      connect();
      C.refreshLists();
      C.loadCanned();
      C.loadAgents();
      C.loadTickets();
      C.restoreOpen();
    }).catch(function (e) {
      if (!C.isAuthError(e)) showLogin(e.message);
    });
  }

  // -- socket --------------------------------------------------------------------------------

  var heartbeatTimer = null;

  function setConn(text, online) {
    var conn = C.$("conn");
    conn.textContent = text;
    conn.classList.toggle("bar__conn--online", !!online);
    conn.classList.toggle("bar__conn--offline", !online);
  }

  function connect() {
    var socket = window.io("/agent", { path: C.base + "socket.io", auth: { token: C.state.token } });
    C.state.socket = socket;
    socket.on("connect", function () {
      setConn("Online", true);
      if (C.state.open) C.watch(C.state.open.id); // replays what we missed while away
      C.refreshLists();
    });
    socket.on("disconnect", function () { setConn("Reconnecting…", false); });
    socket.on("connect_error", function (err) {
      setConn("Offline", false);
      if (err && /token|credentials|log in/i.test(err.message || "")) logout("Please log in again.");
    });
    socket.on("hello", function (data) {
      clearInterval(heartbeatTimer);
      var every = Math.max(1, (data && data.heartbeat_interval_seconds) || 10) * 1000;
      heartbeatTimer = setInterval(heartbeat, every);
      heartbeat();
    });
    ["queue", "message", "typing", "csat", "activity"].forEach(function (name) {
      socket.on(name, function (data) { C.emit("socket:" + name, data); });
    });
    socket.on("presence", function () { C.loadAgents(); });
  }

  function heartbeat() {
    if (!C.state.socket || !C.state.socket.connected) return;
    var away = C.$("away").checked || document.hidden;
    C.state.socket.emit("heartbeat", { state: away ? "away" : "online" });
  }
  C.$("away").addEventListener("change", heartbeat);
  document.addEventListener("visibilitychange", heartbeat);

  // -- layout --------------------------------------------------------------------------------

  // Phones show one pane at a time: the list or the conversation.
  C.showPane = function (pane) { C.$("app").dataset.pane = pane; };

  if (C.state.token) start(); else showLogin("");
})(window.tier1Console = window.tier1Console || {});
