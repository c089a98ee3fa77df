/*
 * tier1 agent console: opening a conversation and acting on it.
 *
 * The header says who the user is, the status and the handoff reason. The actions follow
 * the status: Claim only on a queued chat; Resolve, Hand back and Transfer only on a chat
 * the agent holds; replying only on a chat the agent holds (a note is always possible,
 * except on a resolved chat, whose reply box is closed). The outcome of an action shows in
 * the notice bar above the reply box, never in the transcript.
 *
 * Reload/reconnect safety: the console keeps the last message id it has shown and, after a
 * reconnect, asks the server for what came after it ("watch" with after_id); ids already on
 * screen are skipped, so nothing is lost or shown twice.
 */
(function (C) {
  "use strict";

  var OPEN_KEY = "tier1.console.open";
  var ACK_TIMEOUT_MS = 10000;
  var openSeq = 0;

  C.isMine = function (c) {
    return !!(c && c.status === "assigned" && c.assignee && C.state.me &&
      c.assignee.id === C.state.me.id);
  };

  function mainState(which, text) {
    C.$("empty").hidden = which !== "empty";
    C.$("conv-loading").hidden = which !== "loading";
    C.$("conv-error").hidden = which !== "error";
    C.$("conv-body").hidden = which !== "body";
    if (which === "error") C.$("conv-error-text").textContent = text || "";
    C.$("context").classList.toggle("context--empty", which !== "body");
  }

  C.openConversation = function (id) {
    if (!id) return;
    var seq = ++openSeq;
    var previous = C.state.open;
    if (previous && previous.id !== id) {
      C.emit("conversation:leaving", previous);
      if (C.state.socket) C.state.socket.emit("unwatch", { conversation_id: previous.id });
    }
    C.clearNotice();
    if (!previous || previous.id !== id) mainState("loading");
    C.$("conv-error-retry").onclick = function () { C.openConversation(id); };
    if (C.phone()) C.showPane("conv");
    C.request("GET", "/conversations/" + encodeURIComponent(id)).then(function (c) {
      if (seq !== openSeq) return;
      C.state.open = c;
      C.storageSet(OPEN_KEY, c.id);
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", "#" + encodeURIComponent(c.id));
      }
      C.resetTranscript();
      c.messages.forEach(function (m) { C.renderMessage(m, { initial: true }); });
      mainState("body");
      showConversation(c);
      C.scrollToBottom();
      if (C.state.socket && C.state.socket.connected) C.watch(c.id);
      C.emit("conversation:opened", c);
    }).catch(function (e) {
      if (seq !== openSeq || C.isAuthError(e)) return;
      C.storageSet(OPEN_KEY, null);
      C.state.open = null;
      mainState("error", "Could not open this conversation: " + e.message);
    });
  };

  C.reloadOpen = function () {
    if (!C.state.open) return Promise.resolve();
    var id = C.state.open.id;
    return C.request("GET", "/conversations/" + encodeURIComponent(id)).then(function (c) {
      if (!C.state.open || C.state.open.id !== id) return;
      C.state.open = c;
      c.messages.forEach(function (m) { C.renderMessage(m); });
      showConversation(c);
    }).catch(function () {
      if (C.state.open && C.state.open.id === id) showConversation(C.state.open);
    });
  };

  C.watch = function (conversationId) {
    C.state.socket.timeout(ACK_TIMEOUT_MS).emit(
      "watch", { conversation_id: conversationId, after_id: C.transcript.lastId },
      function (err, ack) {
        if (err || !ack || !ack.ok || !C.state.open || C.state.open.id !== conversationId) return;
        ack.messages.forEach(function (m) { C.renderMessage(m); });
      }
    );
  };

  function setAction(id, enabled, why) {
    var b = C.$(id);
    b.disabled = !enabled;
    b.title = enabled ? (b.dataset.title || "") : why;
  }

  function showConversation(c) {
    var mine = C.isMine(c);
    C.$("conv-title").textContent = C.visitorName(c);
    var who = C.identity(c.user_metadata || {});
    C.$("conv-email").textContent = who.name && who.email ? who.email : "";
    var status = C.$("conv-status");
    status.textContent = C.statusLabel(c);
    status.dataset.status = c.status;
    status.className = "badge badge--" + c.status;
    var reason = C.$("conv-reason");
    reason.textContent = c.reason && c.status !== "bot" ? C.reasonLabel(c.reason) : "";
    reason.title = c.reason ? "Handoff reason: " + c.reason : "";
    reason.hidden = !reason.textContent;

    var notYours = c.status === "queued" ? "Claim this chat first."
      : c.status === "assigned" ? "Another agent holds this chat." : "This chat is not open.";
    setAction("claim", c.status === "queued", c.status === "assigned"
      ? "Already claimed." : "Only a queued chat can be claimed.");
    C.$("claim").hidden = c.status !== "queued";
    setAction("resolve", mine, notYours);
    setAction("handback", mine, notYours);
    setAction("transfer", mine, notYours);
    setAction("transfer-to", mine, notYours);
    // Transferring is only ever possible for the holder: hidden otherwise, not just greyed.
    C.$("transfer").hidden = C.$("transfer-to").hidden = !mine;
    renderAgents();
    C.emit("conversation:shown", c);
    C.renderContext(c);
  }

  // -- actions ------------------------------------------------------------------------------

  var DONE = {
    "/claim": ["You have this chat now; the user was told you joined.", "success"],
    "/resolve": ["Resolved. The user was asked to rate the chat.", "success"],
    "/handback": ["Handed back: the bot answers this user again.", "success"],
    "/transfer": ["Transferred.", "success"],
  };

  C.act = function (path, body) {
    if (!C.state.open) return Promise.resolve();
    var id = C.state.open.id;
    var buttons = ["claim", "resolve", "handback", "transfer"].map(C.$);
    buttons.forEach(function (b) { b.disabled = true; });
    C.clearNotice();
    return C.request("POST", "/conversations/" + encodeURIComponent(id) + path, body)
      .then(function () {
        return C.reloadOpen().then(function () {
          if (C.state.open && C.state.open.id === id) C.notice(DONE[path][0], DONE[path][1]);
          C.refreshLists();
          if (path === "/claim") C.focusReply();
        });
      })
      .catch(function (e) {
        if (C.isAuthError(e)) return;
        C.notice(e.message, "error");
        C.reloadOpen();
        C.refreshLists();
      });
  };

  C.claim = function () { if (!C.$("claim").disabled) C.act("/claim"); };
  C.resolve = function () { if (!C.$("resolve").disabled) C.act("/resolve"); };
  C.$("claim").addEventListener("click", C.claim);
  C.$("resolve").addEventListener("click", C.resolve);
  C.$("handback").addEventListener("click", function () { C.act("/handback"); });
  C.$("transfer").addEventListener("click", function () {
    var value = C.$("transfer-to").value;
    C.act("/transfer", { agent_id: value === "" ? null : Number(value) });
  });
  C.$("back").addEventListener("click", function () { C.showPane("list"); });
  C.$("conv-error-back").addEventListener("click", function () { C.showPane("list"); });

  C.loadAgents = function () {
    C.request("GET", "/agents").then(function (agents) {
      C.state.agents = agents;
      renderAgents();
    }).catch(function () {});
  };

  function renderAgents() {
    var select = C.$("transfer-to");
    var keep = select.value;
    C.clear(select);
    var queue = C.el("option", null, "Back to the queue");
    queue.value = "";
    select.appendChild(queue);
    C.state.agents.forEach(function (a) {
      if (C.state.me && a.id === C.state.me.id) return;
      var o = C.el("option", null, a.display_name + " — " + a.presence + " (" + a.active + "/" +
        a.capacity + ")");
      o.value = String(a.id);
      select.appendChild(o);
    });
    select.value = keep;
    if (select.selectedIndex < 0) select.value = "";
  }

  // -- live updates ----------------------------------------------------------------------

  C.on("socket:queue", function (data) {
    if (data && C.state.open && data.conversation_id === C.state.open.id) C.reloadOpen();
  });

  C.on("socket:message", function (message) {
    if (C.state.open && message.conversation_id === C.state.open.id) C.renderMessage(message);
  });

  C.on("socket:typing", function (data) {
    if (!C.state.open || data.conversation_id !== C.state.open.id || data.sender !== "user") return;
    var box = C.$("user-typing");
    box.hidden = !data.typing;
    clearTimeout(box._timer);
    if (data.typing) box._timer = setTimeout(function () { box.hidden = true; }, 6000);
  });

  C.on("socket:csat", function (data) {
    if (!C.state.open || data.conversation_id !== C.state.open.id) return;
    var r = Number(data.rating);
    var kind = r >= 4 ? "success" : r === 3 ? "info" : "warning";
    C.notice("The user rated this chat " + r + "/5.", kind);
  });

  C.restoreOpen = function () {
    // /console#<conversation id> (an offline ticket's console_url) opens that conversation.
    var linked = decodeURIComponent(window.location.hash.slice(1));
    var open = linked || C.storageGet(OPEN_KEY);
    if (open) C.openConversation(open); else mainState("empty");
  };

  window.addEventListener("hashchange", function () {
    var linked = decodeURIComponent(window.location.hash.slice(1));
    if (linked && C.state.token && (!C.state.open || C.state.open.id !== linked)) {
      C.openConversation(linked);
    }
  });
})(window.tier1Console = window.tier1Console || {});
