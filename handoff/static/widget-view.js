/*
 * tier1 widget: the panel (launcher, header, banners, log, typing indicator, form) and how
 * it behaves on a desktop and on a phone. Messages themselves are drawn by widget-log.js.
 *
 * The header says who answers: the agent once one has joined, else whether anyone from the
 * team is online (the same fact the queue banner and the bot's offline notice go by). The
 * connection is not the header's business: a banner appears only while it is down or slow.
 * At 480 px wide or less the open chat fills the screen: it follows the visual viewport
 * (the on-screen keyboard), keeps the newest message in view and keeps focus inside.
 */
(function () {
  "use strict";
  var NS = (window.Tier1Widget = window.Tier1Widget || {});
  var dom = NS.dom;
  var el = dom.el;
  var button = dom.button;
  var fill = dom.fill;

  var CONNECTING_NOTICE_MS = 1500; // a quick connect shows no banner at all
  var STICK_PX = 80; // this close to the bottom, new messages keep the log scrolled down
  var FULL_SCREEN = "(max-width: 480px)";

  /*
   * Builds the widget inside `root` (a shadow root). `handlers`: send(text, label, anchor),
   * newChat(), typing(on), opened().
   */
  NS.createView = function (root, config, handlers) {
    var s = config.strings || {};
    var team = config.title || "Support";

    var launcher = button("launcher", dom.icon("chat"), s.launcher_label);
    launcher.id = "launcher";
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-controls", "panel");

    var panel = el("section", "chat");
    panel.id = "panel";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", config.title || "Support chat");
    panel.tabIndex = -1;
    panel.hidden = true;

    var header = el("header", "chat__header");
    var headerAvatar = dom.avatar("chat__avatar", null, config.avatar_url);
    header.appendChild(headerAvatar);
    var heading = el("div", "chat__heading");
    var title = el("h2", "chat__title", team);
    title.id = "title";
    heading.appendChild(title);
    var statusLine = el("p", "chat__status");
    statusLine.id = "status";
    statusLine.setAttribute("role", "status");
    heading.appendChild(statusLine);
    header.appendChild(heading);
    var newChat = button("chat__new", s.new_chat);
    newChat.id = "new-chat";
    header.appendChild(newChat);
    var close = button("chat__close", dom.icon("close"), s.close_label);
    close.id = "close";
    header.appendChild(close);
    panel.appendChild(header);

    var offline = el("p", "chat__offline");
    offline.id = "offline";
    offline.setAttribute("role", "status");
    offline.hidden = true;
    panel.appendChild(offline);
    var queue = el("p", "chat__queue");
    queue.id = "queue";
    queue.setAttribute("role", "status");
    queue.hidden = true;
    panel.appendChild(queue);

    var body = el("div", "chat__body");
    body.setAttribute("role", "region");
    body.setAttribute("aria-label", s.conversation_label || "Conversation");
    body.tabIndex = 0; // scrollable with the keyboard
    var list = el("ol", "chat__log");
    list.id = "log";
    body.appendChild(list);
    // Drawn for the eye only; #typing-live says it to screen readers.
    var typingLine = el("div", "chat__typing");
    typingLine.id = "typing";
    typingLine.setAttribute("aria-hidden", "true");
    typingLine.hidden = true;
    var typingWho = el("span", "typing__who");
    var dots = el("span", "typing__dots");
    [0, 1, 2].forEach(function () { dots.appendChild(el("i")); });
    var typingText = el("span", "visually-hidden");
    typingLine.appendChild(typingWho);
    typingLine.appendChild(dots);
    typingLine.appendChild(typingText);
    body.appendChild(typingLine);
    panel.appendChild(body);

    var live = el("div", "visually-hidden");
    live.id = "live";
    live.setAttribute("aria-live", "polite");
    live.setAttribute("aria-atomic", "true");
    panel.appendChild(live);
    var typingLive = el("div", "visually-hidden");
    typingLive.id = "typing-live";
    typingLive.setAttribute("aria-live", "polite");
    panel.appendChild(typingLive);

    var notice = el("p", "chat__notice");
    notice.id = "notice";
    notice.setAttribute("role", "alert");
    notice.hidden = true;
    panel.appendChild(notice);

    var actions = el("div", "chat__actions");
    var human = button("chat__human", s.talk_to_person);
    human.id = "human";
    actions.appendChild(human);
    panel.appendChild(actions);

    var form = el("form", "chat__form");
    form.id = "form";
    form.setAttribute("autocomplete", "off");
    var label = el("label", "visually-hidden", s.input_placeholder);
    label.htmlFor = "input";
    var input = el("textarea");
    input.id = "input";
    input.rows = 1;
    input.placeholder = s.input_placeholder || "";
    input.setAttribute("enterkeyhint", "send");
    var send = el("button", "chat__send", s.send);
    send.type = "submit";
    send.id = "send";
    form.appendChild(label);
    form.appendChild(input);
    form.appendChild(send);
    panel.appendChild(form);

    root.appendChild(launcher);
    root.appendChild(panel);

    var log = NS.createLog(list, config, {
      send: handlers.send,
      announce: announce,
    });

    // -- scrolling -----------------------------------------------------------------------

    var stuck = true; // the user is at the newest message (not reading back)

    function scrollDown() {
      body.scrollTop = body.scrollHeight;
      stuck = true;
    }

    body.addEventListener("scroll", function () {
      stuck = body.scrollHeight - body.scrollTop - body.clientHeight <= STICK_PX;
    });

    /* Runs `change` (which adds to the log); keeps the newest message in view if it was. */
    function following(change, always) {
      var was = stuck;
      var result = change();
      if (was || always) scrollDown();
      return result;
    }

    // -- open, close, full screen --------------------------------------------------------

    function fullScreen() {
      return window.matchMedia(FULL_SCREEN).matches;
    }

    /* On a phone the keyboard shrinks the visual viewport, not the layout one: size the
       panel to what is visible so the input and the newest message stay on screen. */
    function fitViewport() {
      var vv = window.visualViewport;
      if (panel.hidden || !vv) return;
      var full = fullScreen();
      panel.style.height = full ? vv.height + "px" : "";
      panel.style.top = full ? vv.offsetTop + "px" : "";
      if (full) panel.setAttribute("aria-modal", "true");
      else panel.removeAttribute("aria-modal");
      if (stuck) scrollDown();
    }
    if (window.visualViewport) {
      window.visualViewport.addEventListener("resize", fitViewport);
      window.visualViewport.addEventListener("scroll", fitViewport);
    }
    window.addEventListener("resize", fitViewport);

    function setLauncher(open) {
      launcher.setAttribute("aria-expanded", open ? "true" : "false");
      launcher.setAttribute("aria-label", open ? s.close_label : s.launcher_label);
      launcher.replaceChildren(dom.icon(open ? "close" : "chat"));
      launcher.classList.toggle("launcher--open", open);
    }

    function open() {
      panel.hidden = false;
      setLauncher(true);
      root.host.classList.add("is-open");
      fitViewport();
      scrollDown();
      // A phone's keyboard would cover half the chat before the user chose to type.
      if (fullScreen()) panel.focus();
      else input.focus();
      handlers.opened();
    }

    function closePanel() {
      panel.hidden = true;
      setLauncher(false);
      root.host.classList.remove("is-open");
      launcher.focus();
    }

    function focusables() {
      return Array.prototype.filter.call(
        panel.querySelectorAll("button, textarea, a[href], [tabindex='0']"),
        function (node) { return !node.disabled && node.getClientRects().length > 0; });
    }

    /* Full screen, the chat is modal: Tab and Shift+Tab go round inside it. */
    function trapTab(event) {
      var items = focusables();
      if (!items.length) return;
      var first = items[0];
      var last = items[items.length - 1];
      var active = root.activeElement;
      if (event.shiftKey && (active === first || active === panel)) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && active === last) {
        event.preventDefault();
        first.focus();
      }
    }

    launcher.addEventListener("click", function () {
      if (panel.hidden) open();
      else closePanel();
    });
    close.addEventListener("click", closePanel);
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") closePanel();
      else if (event.key === "Tab" && fullScreen()) trapTab(event);
    });
    // Focus that leaves the full-screen chat some other way (a screen reader, a click on
    // the page behind) is brought back.
    document.addEventListener("focusin", function (event) {
      if (!panel.hidden && fullScreen() && event.target !== root.host) panel.focus();
    });
    newChat.addEventListener("click", function () { handlers.newChat(); });
    human.addEventListener("click", function () {
      handlers.send(s.talk_to_person_payload || "/request_human", s.talk_to_person);
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text) return;
      input.value = "";
      input.style.height = "";
      handlers.typing(false);
      handlers.send(text);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        if (form.requestSubmit) form.requestSubmit();
        else form.dispatchEvent(new Event("submit", { cancelable: true }));
      }
    });
    input.addEventListener("input", function () {
      handlers.typing(input.value.trim().length > 0);
      input.style.height = "auto";
      input.style.height = Math.min(input.scrollHeight, 120) + "px";
    });
    input.addEventListener("focus", function () {
      // The keyboard is opening: once the viewport has shrunk, show the newest message.
      if (stuck) setTimeout(scrollDown, 300);
    });

    function announce(text) {
      live.textContent = "";
      // A fresh text node in a later task is what screen readers reliably announce.
      setTimeout(function () { live.textContent = text; }, 50);
    }

    // -- the header: who answers ---------------------------------------------------------

    var answering = { available: null, agent: null, status: null };
    var drawn = null; // what the header shows: redrawn (and re-announced) only when it changes

    function renderHeader() {
      var agent = answering.status === "assigned" && answering.agent;
      var key = agent ? "agent:" + agent : "team:" + answering.available;
      if (key === drawn) return;
      drawn = key;
      var avatar = agent ? dom.avatar("chat__avatar", agent)
        : dom.avatar("chat__avatar", null, config.avatar_url);
      header.replaceChild(avatar, header.querySelector(".chat__avatar"));
      title.textContent = agent || team;
      var state = agent ? "agent" : answering.available === true ? "online"
        : answering.available === false ? "away" : "unknown";
      var text = agent ? fill(s.agent_header || "{team} team", { team: team })
        : state === "online" ? s.team_online || "Our team is online"
        : state === "away" ? s.team_away || "Our team is away"
        : config.subtitle || "";
      statusLine.replaceChildren();
      if (state === "online" || state === "away") statusLine.appendChild(el("span", "chat__dot"));
      statusLine.appendChild(document.createTextNode(text));
      statusLine.dataset.team = state;
    }
    renderHeader();

    // -- connection ----------------------------------------------------------------------

    var connectingTimer = null;

    function setConnection(state) {
      clearTimeout(connectingTimer);
      panel.dataset.connection = state;
      // Tests and embedders wait for this class: the socket is up (nothing is drawn for it).
      statusLine.classList.toggle("chat__status--online", state === "online");
      root.host.classList.toggle("is-offline", state === "offline");
      if (state === "connecting") {
        connectingTimer = setTimeout(function () { showConnection(s.connecting); },
                                     CONNECTING_NOTICE_MS);
      } else {
        showConnection(state === "offline" ? s.offline : null);
      }
    }

    function showConnection(text) {
      offline.textContent = text || "";
      offline.hidden = !text;
    }

    // -- the queue banner and the typing indicator ---------------------------------------

    function setQueue(info) {
      if (info && info.status) answering.status = info.status;
      if (info && info.status === "queued" && typeof info.position === "number") {
        // Queue pushes say whether anyone can take the chat: the header says the same.
        answering.available = info.agents_available !== false;
      }
      renderHeader();
      var waiting = info && info.status === "queued" && typeof info.position === "number";
      human.hidden = !!(info && (info.status === "queued" || info.status === "assigned"));
      queue.hidden = !waiting;
      if (!waiting) {
        queue.textContent = "";
        return;
      }
      var text = fill(s.queue_position, { position: info.position });
      if (typeof info.estimated_wait_seconds === "number") {
        var minutes = Math.max(1, Math.round(info.estimated_wait_seconds / 60));
        text += " " + fill(s.queue_wait, { minutes: minutes });
      } else if (info.agents_available === false && s.queue_nobody) {
        text += " " + s.queue_nobody;
      }
      queue.textContent = text;
      queue.dataset.position = String(info.position);
    }

    /* who: {text, name?} or null. The dots for the eye, the text for screen readers. */
    function setTyping(who) {
      var was = !typingLine.hidden;
      typingLine.hidden = !who;
      typingText.textContent = who ? who.text : "";
      typingWho.replaceChildren();
      if (who && who.name) typingWho.appendChild(dom.avatar("typing__avatar", who.name));
      if (!!who !== was) typingLive.textContent = who ? who.text : "";
      if (who && stuck) scrollDown();
    }

    return {
      launcher: launcher,
      panel: panel,
      input: input,
      open: open,
      close: closePanel,
      isOpen: function () { return !panel.hidden; },
      addMessage: function (message, isLive) {
        return following(function () { return log.addMessage(message, isLive); });
      },
      addUser: function (text, state, createdAt) {
        return following(function () { return log.addUser(text, state, createdAt); }, true);
      },
      answerFeedback: log.answerFeedback,
      setUserState: log.setUserState,
      announce: announce,
      clear: log.clear,
      welcome: function () { log.welcome(config.welcome_message); },
      setConnection: setConnection,
      setAvailability: function (available) {
        answering.available = typeof available === "boolean" ? available : null;
        renderHeader();
      },
      setAgent: function (name) {
        answering.agent = name || null;
        renderHeader();
      },
      showNotice: function (text) {
        notice.textContent = text || "";
        notice.hidden = !text;
      },
      hideNotice: function (text) {
        if (notice.textContent === text) notice.hidden = true;
      },
      setQueue: setQueue,
      setTyping: setTyping,
      fill: fill,
    };
  };
})();
