/*
 * tier1 agent console: the open conversation's transcript.
 *
 * Messages are shown in id order, each id once (a reconnect replays after the last id on
 * screen). It opens at the newest message and follows new ones, unless the agent scrolled
 * up to read: then a "new messages" pill counts them and jumps down on click.
 *
 * What the user saw is what the agent sees: a button payload shows as the button's label
 * (see console-labels.js), a bot message with nothing to show is skipped, and the source
 * the bot sends after an answer (a message with only {custom: {source}}) becomes a link
 * under that answer.
 */
(function (C) {
  "use strict";

  var FOLLOW_SLACK_PX = 80;
  var log = C.$("transcript");
  var pill = C.$("new-messages");

  var t = C.transcript = {
    shown: {}, // message ids handled (rendered or deliberately skipped)
    lastId: null,
    titles: {}, // button payload -> title, from the bot's messages so far
    unseen: 0,
  };

  C.resetTranscript = function () {
    t.shown = {};
    t.lastId = null;
    t.titles = {};
    t.unseen = 0;
    C.clear(log);
    hidePill();
  };

  function nearBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < FOLLOW_SLACK_PX;
  }

  C.scrollToBottom = function (smooth) {
    if (smooth && log.scrollTo) log.scrollTo({ top: log.scrollHeight, behavior: "smooth" });
    else log.scrollTop = log.scrollHeight;
    var settled = log.scrollTop;
    // Again once layout settled (fonts, a panel opening), so the newest stays in view;
    // unless the agent scrolled up in between.
    window.requestAnimationFrame(function () {
      if (!smooth && log.scrollTop >= settled - 2) log.scrollTop = log.scrollHeight;
    });
    hidePill();
  };

  function hidePill() {
    t.unseen = 0;
    pill.hidden = true;
  }

  function showPill() {
    pill.textContent = t.unseen === 1 ? "1 new message ↓" : t.unseen + " new messages ↓";
    pill.hidden = false;
  }

  pill.addEventListener("click", function () { C.scrollToBottom(true); });
  log.addEventListener("scroll", function () { if (nearBottom()) hidePill(); });

  // -- rendering ---------------------------------------------------------------------------

  function sourceOf(payload) {
    if (!payload) return null;
    var custom = payload.custom;
    var source = payload.source || (custom && typeof custom === "object" ? custom.source : null);
    return source && typeof source === "object" ? source : null;
  }

  function buttonsOf(payload) {
    var buttons = payload && (payload.buttons || payload.quick_replies);
    return Array.isArray(buttons) ? buttons.filter(function (b) { return b && b.title; }) : [];
  }

  function sourceLink(source) {
    var line = C.el("div", "msg__source");
    line.appendChild(C.el("span", null, "Source: "));
    var title = source.title || ("Article " + (source.article_id || ""));
    if (source.url && /^https?:\/\//i.test(source.url)) {
      var a = C.el("a", null, title);
      a.href = source.url;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      line.appendChild(a);
    } else {
      line.appendChild(C.el("span", null, title));
    }
    return line;
  }

  function who(m) {
    if (m.sender === "agent") return m.agent_name || "Agent";
    if (m.sender === "note") return (m.agent_name || "Agent") + " · internal note";
    if (m.sender === "user") return C.state.open ? C.visitorName(C.state.open) : "User";
    if (m.sender === "bot") return "Bot";
    return "System";
  }

  // The li for a message, or null when there is nothing to show.
  function bubble(m) {
    var payload = m.payload || {};
    var text = m.text || "";
    var li = C.el("li", "msg msg--" + m.sender);
    var meta = C.el("div", "msg__meta");
    meta.appendChild(C.el("span", "msg__who", who(m)));
    meta.appendChild(C.timeEl(m.created_at, "msg__time"));
    li.appendChild(meta);

    if (m.sender === "user") {
      var label = C.userLabel(m, t.titles);
      li.appendChild(C.el("div", "msg__text", label.text));
      if (label.clicked) {
        li.classList.add("msg--clicked");
        li.title = "Clicked a button (payload " + text + ")";
        meta.appendChild(C.el("span", "msg__tag", "button"));
      }
      return li;
    }
    if (m.sender === "bot") {
      var buttons = buttonsOf(payload);
      buttons.forEach(function (b) { if (b.payload) t.titles[String(b.payload).trim()] = String(b.title); });
      var source = sourceOf(payload);
      if (!text.trim() && !buttons.length && !payload.image && !payload.attachment) {
        if (!source) return null;
        var answer = previousBot(m.id);
        if (answer && !answer.querySelector(".msg__source")) {
          answer.appendChild(sourceLink(source));
          return null;
        }
        li.classList.add("msg--source-only");
        li.appendChild(sourceLink(source));
        return li;
      }
      if (text.trim()) li.appendChild(C.el("div", "msg__text", text));
      if (payload.image) li.appendChild(C.el("div", "msg__text", "[image] " + payload.image));
      if (buttons.length) {
        var options = C.el("div", "msg__options");
        options.setAttribute("aria-label", "Buttons offered");
        buttons.forEach(function (b) { options.appendChild(C.el("span", "msg__option", b.title)); });
        li.appendChild(options);
      }
      if (source) li.appendChild(sourceLink(source));
      return li;
    }
    if (!text.trim()) return null;
    li.appendChild(C.el("div", "msg__text", text));
    return li;
  }

  function previousBot(id) {
    for (var node = log.lastChild; node; node = node.previousSibling) {
      if (!node.dataset || !node.dataset.id || Number(node.dataset.id) > id) continue;
      return node.classList.contains("msg--bot") ? node : null;
    }
    return null;
  }

  // Renders a stored message once. opts.initial: part of the first load (no pill);
  // opts.follow: scroll down whatever the position (the agent's own message).
  C.renderMessage = function (m, opts) {
    opts = opts || {};
    if (!m || typeof m.id !== "number" || t.shown[m.id]) return;
    if (C.state.open && m.conversation_id && m.conversation_id !== C.state.open.id) return;
    t.shown[m.id] = true;
    if (t.lastId === null || m.id > t.lastId) t.lastId = m.id;
    if (m.client_id) {
      var pending = log.querySelector('.msg--pending[data-client-id="' + CSS.escape(m.client_id) + '"]');
      if (pending) pending.remove();
    }
    var follow = opts.initial || opts.follow || nearBottom();
    var li = bubble(m);
    if (!li) return;
    li.dataset.id = String(m.id);
    // Keep id order even if pushes arrive out of order.
    var after = null;
    for (var node = log.lastChild; node; node = node.previousSibling) {
      if (node.dataset && node.dataset.id && Number(node.dataset.id) < m.id) { after = node; break; }
    }
    if (after) log.insertBefore(li, after.nextSibling);
    else if (log.firstChild && log.firstChild.dataset && log.firstChild.dataset.id) {
      log.insertBefore(li, log.firstChild);
    } else {
      log.appendChild(li);
    }
    if (opts.initial) return;
    if (follow) {
      C.scrollToBottom();
    } else {
      t.unseen += 1;
      showPill();
    }
  };

  // A bubble for a message being sent (replaced by the stored one when acknowledged).
  C.pendingBubble = function (kind, text, clientId) {
    var li = C.el("li", "msg msg--" + kind + " msg--pending");
    li.dataset.clientId = clientId;
    li.appendChild(C.el("div", "msg__meta", "Sending…"));
    li.appendChild(C.el("div", "msg__text", text));
    log.appendChild(li);
    C.scrollToBottom();
    return li;
  };
})(window.tier1Console = window.tier1Console || {});
