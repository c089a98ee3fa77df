/*
 * tier1 agent console: the reply box.
 *
 * Reply or internal note. Enter (or Ctrl/Cmd+Enter) sends, Shift+Enter is a new line.
 * Replying needs the chat to be yours (Send stays disabled until you claim it, with the
 * reason shown under the box); a resolved chat's box is closed. A refused or unanswered
 * send puts the text back in the box and says why in the notice bar; nothing stays stuck
 * in the transcript.
 *
 * Canned responses: typing "/" opens a type-ahead of the shortcuts (like Chatwoot's);
 * arrows choose, Enter or Tab inserts the text, Escape closes. A known "/shortcut" left in
 * the text is expanded before sending, for review: a shortcut is never sent literally.
 * Drafts are kept per conversation while the console is open.
 */
(function (C) {
  "use strict";

  var ACK_TIMEOUT_MS = 10000;
  var TYPING_IDLE_MS = 3000;
  var MENU_MAX = 8;

  var box = C.$("reply");
  var form = C.$("reply-form");
  var menu = C.$("canned-menu");
  var canned = [];
  var drafts = {};
  var typingTimer = null;
  var typingSent = false;
  var menuState = { items: [], active: 0, start: -1, end: -1 };

  C.mode = function () { return document.querySelector('input[name="mode"]:checked').value; };

  C.setMode = function (value) {
    var radio = document.querySelector('input[name="mode"][value="' + value + '"]');
    if (radio && !radio.disabled) { radio.checked = true; modeChanged(); }
  };

  function modeChanged() {
    var note = C.mode() === "note";
    form.classList.toggle("reply--note", note);
    box.setAttribute("aria-label", note ? "Internal note" : "Reply");
    if (C.state.open) updateComposer(C.state.open);
  }
  document.querySelectorAll('input[name="mode"]').forEach(function (r) {
    r.addEventListener("change", modeChanged);
  });

  // Enabled states follow the conversation; the hint under the box says why Send is off.
  function updateComposer(c) {
    var resolved = c.status === "resolved";
    var mine = C.isMine(c);
    var note = C.mode() === "note";
    box.disabled = resolved;
    form.classList.toggle("reply--note", note && !resolved);
    document.querySelectorAll('input[name="mode"]').forEach(function (r) { r.disabled = resolved; });
    C.$("canned-open").disabled = resolved;
    var hint = "";
    if (resolved) {
      hint = "This conversation is resolved; the reply box is closed.";
    } else if (!note && c.status === "queued") {
      hint = "Claim this chat to reply (press C). You can add an internal note meanwhile.";
    } else if (!note && c.status === "assigned" && !mine) {
      hint = (c.assignee && c.assignee.display_name || "Another agent") +
        " holds this chat; you can add an internal note.";
    } else if (!note && c.status === "bot") {
      hint = "The bot is handling this chat; you can add an internal note.";
    }
    C.$("send").disabled = resolved || (!note && !mine);
    box.placeholder = resolved ? "Resolved: no more replies." : note
      ? "An internal note (the user never sees it)…" : "Type a reply… ( / for canned responses)";
    var hintNode = C.$("reply-hint");
    hintNode.textContent = hint;
    hintNode.hidden = !hint;
    if (resolved) closeMenu();
  }

  C.on("conversation:shown", updateComposer);

  var current = null; // the conversation whose draft is in the box
  C.on("conversation:leaving", function (c) {
    stopTyping(c.id);
    drafts[c.id] = { text: box.value, mode: C.mode() };
    current = null;
  });

  C.on("conversation:opened", function (c) {
    if (current !== c.id) { // not a reload of the same chat: bring its draft back
      var draft = drafts[c.id];
      box.value = draft ? draft.text : "";
      C.setMode(draft ? draft.mode : "reply");
      current = c.id;
    }
    closeMenu();
    updateComposer(c);
  });

  C.focusReply = function (mode) {
    if (mode) C.setMode(mode);
    if (!box.disabled) box.focus();
  };

  C.insertText = function (text) {
    box.value = box.value ? box.value.replace(/\s*$/, "\n") + text : text;
    box.focus();
  };

  // -- sending ------------------------------------------------------------------------------

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    send();
  });

  function send() {
    var c = C.state.open;
    var text = box.value.trim();
    if (!c || !text || box.disabled) return;
    var expanded = C.expandShortcuts(text);
    if (expanded !== text) {
      box.value = expanded;
      box.focus();
      C.notice("Canned response inserted; check it and press Enter to send.", "info");
      return;
    }
    var kind = C.mode();
    if (kind === "reply" && !C.isMine(c)) {
      C.notice(c.status === "queued" ? "Claim this chat before replying (press C)."
        : "You can only reply to a chat you hold; write an internal note instead.", "warning");
      return;
    }
    C.clearNotice();
    var clientId = C.newClientId();
    var pending = C.pendingBubble(kind === "note" ? "note" : "agent", text, clientId);
    box.value = "";
    delete drafts[c.id];
    stopTyping(c.id);
    deliver(kind, c.id, text, clientId, pending, 0);
  }

  function failed(conversationId, text, pending, why) {
    pending.remove();
    if (C.state.open && C.state.open.id === conversationId) {
      if (!box.value.trim()) box.value = text;
      C.notice("Not sent: " + why, "error");
      C.reloadOpen();
    } else {
      drafts[conversationId] = { text: text, mode: "reply" };
    }
  }

  function deliver(kind, conversationId, text, clientId, pending, attempt) {
    if (!C.state.socket || !C.state.socket.connected) {
      if (attempt >= 40) { failed(conversationId, text, pending, "no connection to the server."); return; }
      // Wait for the reconnect; the client_id keeps a resend idempotent.
      setTimeout(function () { deliver(kind, conversationId, text, clientId, pending, attempt + 1); }, 500);
      return;
    }
    C.state.socket.timeout(ACK_TIMEOUT_MS).emit(
      kind === "note" ? "note" : "send",
      { conversation_id: conversationId, text: text, client_id: clientId },
      function (err, ack) {
        if (err) {
          if (attempt < 3) deliver(kind, conversationId, text, clientId, pending, attempt + 1);
          else failed(conversationId, text, pending, "no answer from the server.");
          return;
        }
        if (ack && ack.ok) {
          pending.remove();
          C.renderMessage(ack.message, { follow: true });
          return;
        }
        failed(conversationId, text, pending, (ack && ack.error) || "the server refused it.");
      }
    );
  }

  box.addEventListener("keydown", function (event) {
    if (!menu.hidden && menuKey(event)) return;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    } else if (event.key === "Escape") {
      box.blur();
    }
  });

  box.addEventListener("input", function () {
    updateMenu();
    var c = C.state.open;
    if (!c || C.mode() !== "reply" || !C.state.socket || !C.isMine(c)) return;
    if (!typingSent) {
      typingSent = true;
      C.state.socket.emit("typing", { conversation_id: c.id, typing: true });
    }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { stopTyping(c.id); }, TYPING_IDLE_MS);
  });
  box.addEventListener("click", updateMenu);
  box.addEventListener("blur", function () {
    setTimeout(function () { if (document.activeElement !== box) closeMenu(); }, 150);
  });

  function stopTyping(conversationId) {
    clearTimeout(typingTimer);
    if (typingSent && C.state.socket) {
      C.state.socket.emit("typing", { conversation_id: conversationId, typing: false });
    }
    typingSent = false;
  }

  // -- canned responses ---------------------------------------------------------------------

  C.loadCanned = function () {
    C.request("GET", "/canned-responses").then(function (items) { canned = items; }).catch(function () {});
  };

  function escapeRe(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

  // Every known "/shortcut" standing alone in the text, replaced by its response (in one
  // pass, so a response that mentions a shortcut stays as written).
  C.expandShortcuts = function (text) {
    var known = {};
    canned.forEach(function (c) { known[c.shortcut.toLowerCase()] = c.text; });
    var names = Object.keys(known).sort(function (a, b) { return b.length - a.length; });
    if (!names.length) return text;
    var re = new RegExp(
      "(^|\\s)/(" + names.map(escapeRe).join("|") + ")(?=$|\\s|[.,;:!?])", "gi");
    return text.replace(re, function (_m, lead, name) { return lead + known[name.toLowerCase()]; });
  };

  function updateMenu() {
    var caret = box.selectionStart;
    var before = box.value.slice(0, caret);
    var m = /(^|\s)\/([\w-]*)$/.exec(before);
    if (!m || box.disabled) { closeMenu(); return; }
    var q = m[2].toLowerCase();
    var items = canned.filter(function (c) { return c.shortcut.toLowerCase().indexOf(q) === 0; });
    if (q.length >= 2) {
      canned.forEach(function (c) {
        if (items.indexOf(c) < 0 && c.text.toLowerCase().indexOf(q) >= 0) items.push(c);
      });
    }
    menuState = { items: items.slice(0, MENU_MAX), active: 0, start: caret - m[2].length - 1, end: caret };
    renderMenu(q);
  }

  function renderMenu(q) {
    C.clear(menu);
    if (!menuState.items.length) {
      var none = C.el("li", "canned__none", "No canned response starts with /" + q);
      none.setAttribute("role", "option");
      none.setAttribute("aria-disabled", "true");
      none.id = "canned-none";
      menu.appendChild(none);
    }
    menuState.items.forEach(function (c, i) {
      var li = C.el("li", "canned__item" + (i === menuState.active ? " canned__item--active" : ""));
      li.id = "canned-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", i === menuState.active ? "true" : "false");
      li.appendChild(C.el("span", "canned__shortcut", "/" + c.shortcut));
      li.appendChild(C.el("span", "canned__text", c.text));
      li.addEventListener("mousedown", function (event) { event.preventDefault(); pick(i); });
      menu.appendChild(li);
    });
    menu.hidden = false;
    box.setAttribute("aria-activedescendant", menuState.items.length ? "canned-" + menuState.active : "");
    C.announce(menuState.items.length + " canned responses; arrows to choose, Enter to insert.");
  }

  function closeMenu() {
    menu.hidden = true;
    box.removeAttribute("aria-activedescendant");
  }

  function menuKey(event) {
    var n = menuState.items.length;
    if (event.key === "Escape") { event.preventDefault(); closeMenu(); return true; }
    if (!n) return false;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      menuState.active = (menuState.active + (event.key === "ArrowDown" ? 1 : n - 1)) % n;
      renderMenu("");
      return true;
    }
    if ((event.key === "Enter" && !event.shiftKey) || event.key === "Tab") {
      event.preventDefault();
      pick(menuState.active);
      return true;
    }
    return false;
  }

  function pick(i) {
    var c = menuState.items[i];
    if (!c) return;
    var value = box.value;
    box.value = value.slice(0, menuState.start) + c.text + value.slice(menuState.end);
    var caret = menuState.start + c.text.length;
    box.setSelectionRange(caret, caret);
    closeMenu();
    box.focus();
  }

  C.$("canned-open").addEventListener("click", function () {
    if (box.disabled) return;
    var caret = box.selectionStart || box.value.length;
    var before = box.value.slice(0, caret);
    var insert = (before && !/\s$/.test(before) ? " " : "") + "/";
    box.value = before + insert + box.value.slice(caret);
    box.focus();
    box.setSelectionRange(caret + insert.length, caret + insert.length);
    updateMenu();
  });
})(window.tier1Console = window.tier1Console || {});
