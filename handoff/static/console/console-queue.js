/*
 * tier1 agent console: the conversation lists.
 *
 * Four views with counts (Mine, Unassigned = the queue, All open, Resolved = the history),
 * and a search over every conversation (message text, the user's name or email, the id).
 * Each item says who the user is, why the bot handed off, their latest typed message and
 * first question, and how long they have waited (live) or when they last wrote. New chats
 * in the queue flash, beep and count in the tab title; a user writing in a chat that is not
 * open marks it unread.
 */
(function (C) {
  "use strict";

  var VIEW_KEY = "tier1.console.view";
  var VIEWS = ["mine", "unassigned", "open", "resolved"];
  var EMPTY = {
    mine: "No chats are assigned to you. Claim one from Unassigned.",
    unassigned: "Nobody is waiting. New chats appear here, with a sound.",
    open: "No open conversations.",
    resolved: "No resolved conversations yet.",
  };
  var NEW_IN_QUEUE = ["conversation.handoff_requested", "conversation.requeued"];

  var lists = C.lists = {
    view: VIEWS.indexOf(C.storageGet(VIEW_KEY)) >= 0 ? C.storageGet(VIEW_KEY) : "unassigned",
    query: "",
    items: [],
    counts: null,
    loaded: false,
    fresh: {}, // ids that just arrived in the queue (flash once)
    unread: {}, // ids a user wrote in since the agent last looked
    seq: 0,
  };

  // -- loading ----------------------------------------------------------------------------

  var timer = null;
  C.scheduleRefresh = function (delay) {
    clearTimeout(timer);
    timer = setTimeout(C.refreshLists, delay === undefined ? 150 : delay);
  };

  C.refreshLists = function () {
    if (!C.state.token) return Promise.resolve();
    var seq = ++lists.seq;
    var params = lists.query
      ? "view=all&q=" + encodeURIComponent(lists.query)
      : "view=" + lists.view;
    if (!lists.loaded) listState("Loading conversations…", "loading");
    return Promise.all([
      C.request("GET", "/conversations/search?limit=200&" + params),
      C.request("GET", "/conversations/counts"),
    ]).then(function (got) {
      if (seq !== lists.seq) return; // a newer refresh is on its way
      var fetchedAt = Date.now();
      got[0].forEach(function (c) { c._fetchedAt = fetchedAt; });
      lists.items = got[0];
      lists.counts = got[1];
      lists.loaded = true;
      render();
      C.emit("lists:refreshed", lists.items);
    }).catch(function (e) {
      if (seq !== lists.seq || C.isAuthError(e)) return;
      listState("Could not load the conversations: " + e.message, "error");
    });
  };

  function listState(text, kind) {
    var box = C.$("list-state");
    C.clear(box);
    box.className = "list-state" + (kind ? " list-state--" + kind : "");
    box.hidden = !text;
    if (!text) return;
    box.appendChild(C.el("span", null, text));
    if (kind === "error") box.appendChild(C.button("list-state__retry", "Retry", C.refreshLists));
  }

  // -- rendering ----------------------------------------------------------------------------

  function render() {
    renderTabs();
    var ul = C.$("conversations");
    C.clear(ul);
    ul.setAttribute("aria-label", lists.query ? "Search results" : tabLabel(lists.view));
    C.$("search-heading").hidden = !lists.query;
    C.$("search-heading-text").textContent = lists.query
      ? lists.items.length + " result" + (lists.items.length === 1 ? "" : "s") + " for “" +
        lists.query + "” in all conversations"
      : "";
    lists.items.forEach(function (c) { ul.appendChild(item(c)); });
    if (!lists.items.length) {
      listState(lists.query ? "No conversations match “" + lists.query + "”." : EMPTY[lists.view],
        "empty");
    } else {
      listState("");
    }
    lists.fresh = {};
    updateTitle();
  }

  function tabLabel(view) {
    return { mine: "Mine", unassigned: "Unassigned", open: "All open", resolved: "Resolved" }[view];
  }

  function renderTabs() {
    VIEWS.forEach(function (view) {
      var tab = C.$("view-" + view);
      var selected = !lists.query && lists.view === view;
      tab.setAttribute("aria-selected", selected ? "true" : "false");
      tab.tabIndex = selected || (lists.query && view === lists.view) ? 0 : -1;
      var n = lists.counts ? lists.counts[view] : null;
      C.$("count-" + view).textContent = n === null || n === undefined ? "–" : String(n);
    });
  }

  function item(c) {
    var open = C.state.open && C.state.open.id === c.id;
    var li = C.el("li", "item" + (open ? " item--active" : "") +
      (lists.fresh[c.id] ? " item--new" : "") + (lists.unread[c.id] && !open ? " item--unread" : ""));
    li.dataset.id = c.id;
    li.dataset.status = c.status;
    var link = C.el("a", "item__link");
    link.href = "#" + encodeURIComponent(c.id);
    if (open) link.setAttribute("aria-current", "true");
    link.addEventListener("click", function (event) {
      event.preventDefault();
      C.openConversation(c.id);
    });

    var top = C.el("span", "item__top");
    top.appendChild(C.el("span", "item__name", C.visitorName(c)));
    if (c.status === "queued") {
      var wait = C.el("span", "item__wait", C.fmtWait(c.wait_seconds || 0));
      wait.dataset.wait = String(c.wait_seconds || 0);
      wait.dataset.at = String(c._fetchedAt || Date.now());
      wait.title = "Waiting since " + C.fmtAbsolute(c.queued_at);
      top.appendChild(wait);
    } else if (c.last_message_at || c.updated_at) {
      top.appendChild(C.timeEl(c.last_message_at || c.updated_at, "item__time"));
    }
    link.appendChild(top);

    var meta = C.el("span", "item__meta");
    if (c.reason && c.status !== "bot") {
      var reason = C.el("span", "chip item__reason", C.reasonLabel(c.reason));
      reason.title = "Handoff reason: " + c.reason;
      meta.appendChild(reason);
    }
    if (c.priority) meta.appendChild(C.el("span", "chip chip--prio", "Priority " + c.priority));
    if (lists.query || lists.view === "open") {
      meta.appendChild(C.el("span", "item__status", C.statusLabel(c)));
    }
    if (c.user_email && c.user_name) meta.appendChild(C.el("span", "item__email", c.user_email));
    if (meta.childNodes.length) link.appendChild(meta);

    var preview = (lists.query && c.match) || c.last_user_message;
    link.appendChild(C.el("span", "item__last", preview || "No message from the user yet"));
    if (c.first_question && c.first_question !== c.last_user_message && !lists.query) {
      link.appendChild(C.el("span", "item__first", "First: " + c.first_question));
    }
    if (lists.unread[c.id] && !open) link.appendChild(C.el("span", "sr-only", "(new messages)"));
    li.appendChild(link);
    return li;
  }

  // Live wait times: tick every second from the server's figure at fetch time.
  setInterval(function () {
    document.querySelectorAll(".item__wait").forEach(function (node) {
      var seconds = Number(node.dataset.wait) + (Date.now() - Number(node.dataset.at)) / 1000;
      node.textContent = C.fmtWait(seconds);
    });
  }, 1000);

  // -- views and search ----------------------------------------------------------------------

  C.setView = function (view) {
    if (VIEWS.indexOf(view) < 0) return;
    var changed = view !== lists.view || lists.query;
    lists.view = view;
    C.storageSet(VIEW_KEY, view);
    if (lists.query) { lists.query = ""; C.$("search").value = ""; }
    if (changed) { lists.loaded = false; lists.items = []; render(); C.refreshLists(); }
    if (C.phone()) C.showPane("list");
  };

  VIEWS.forEach(function (view, i) {
    var tab = C.$("view-" + view);
    tab.addEventListener("click", function () { C.setView(view); });
    tab.addEventListener("keydown", function (event) {
      var step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (!step) return;
      event.preventDefault();
      var next = VIEWS[(i + step + VIEWS.length) % VIEWS.length];
      C.setView(next);
      C.$("view-" + next).focus();
    });
  });

  var searchTimer = null;
  C.$("search").addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(search, 250);
  });
  C.$("search-form").addEventListener("submit", function (event) {
    event.preventDefault();
    clearTimeout(searchTimer);
    search();
  });
  C.$("search").addEventListener("keydown", function (event) {
    if (event.key === "Escape") { C.clearSearch(); event.target.blur(); }
  });
  C.$("search-clear").addEventListener("click", function () { C.clearSearch(); });

  function search() {
    var q = C.$("search").value.trim();
    if (q === lists.query) return;
    lists.query = q;
    lists.loaded = false;
    C.refreshLists();
  }

  C.clearSearch = function () {
    C.$("search").value = "";
    if (!lists.query) return;
    lists.query = "";
    lists.loaded = false;
    C.refreshLists();
  };

  // The next (delta 1) or previous (-1) conversation of the list; the first if none is open.
  C.stepConversation = function (delta) {
    var ids = lists.items.map(function (c) { return c.id; });
    if (!ids.length) return;
    var at = C.state.open ? ids.indexOf(C.state.open.id) : -1;
    var next = at < 0 ? (delta > 0 ? 0 : ids.length - 1) : at + delta;
    if (next < 0 || next >= ids.length) return;
    C.openConversation(ids[next]);
  };

  // -- live updates ----------------------------------------------------------------------

  C.on("socket:queue", function (data) {
    if (data && NEW_IN_QUEUE.indexOf(data.event) >= 0) {
      lists.fresh[data.conversation_id] = true;
      alertNew();
    }
    C.scheduleRefresh();
  });

  C.on("socket:activity", function (data) {
    if (!data) return;
    var open = C.state.open && C.state.open.id === data.conversation_id;
    var listed = lists.items.some(function (c) { return c.id === data.conversation_id; });
    if (!open && listed) lists.unread[data.conversation_id] = true;
    if (listed || open) C.scheduleRefresh(400);
  });

  C.on("conversation:opened", function (c) {
    delete lists.unread[c.id];
    document.querySelectorAll("#conversations .item").forEach(function (li) {
      var active = li.dataset.id === c.id;
      li.classList.toggle("item--active", active);
      if (active) li.classList.remove("item--unread");
      var link = li.querySelector(".item__link");
      if (active) link.setAttribute("aria-current", "true"); else link.removeAttribute("aria-current");
    });
  });

  // -- notifications ---------------------------------------------------------------------

  var unseen = 0;
  function updateTitle() {
    var n = lists.counts ? lists.counts.unassigned : 0;
    document.title = (n ? "(" + n + ") " : "") + (unseen ? "● " : "") + "Agent console · tier1";
  }

  function alertNew() {
    if (document.hidden || !document.hasFocus()) unseen += 1;
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

  // A safety net for pushes missed while the socket was down.
  setInterval(function () { if (C.state.token && !document.hidden) C.scheduleRefresh(0); }, 30000);
})(window.tier1Console = window.tier1Console || {});
