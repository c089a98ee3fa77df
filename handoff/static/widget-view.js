/*
 * tier1 widget: the DOM (launcher, panel, messages). Builds everything with createElement;
 * message text goes through textContent or the safe Markdown renderer only.
 */
(function () {
  "use strict";
  var NS = (window.Tier1Widget = window.Tier1Widget || {});

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Icons are inline SVG paths, not emoji: a device without an emoji font would show boxes.
  var ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    up: "M2 10h4v11H2zM8 21h9.3a2 2 0 0 0 2-1.6l1.6-7A2 2 0 0 0 19 10h-5.4l.9-4.2A1.8 1.8 0 0 0 11.3 4L8 10z",
    down: "M2 3h4v11H2zM8 3h9.3a2 2 0 0 1 2 1.6l1.6 7A2 2 0 0 1 19 14h-5.4l.9 4.2a1.8 1.8 0 0 1-3.2 1.8L8 14z",
  };

  function icon(name) {
    var svgNS = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(svgNS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "1.2em");
    svg.setAttribute("height", "1.2em");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(svgNS, "path");
    path.setAttribute("d", ICONS[name]);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  function button(className, content, label) {
    var isNode = content && typeof content === "object";
    var b = el("button", className, isNode ? undefined : content);
    if (isNode) b.appendChild(content);
    b.type = "button";
    if (label) b.setAttribute("aria-label", label);
    return b;
  }

  function fill(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (_, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  function safeUrl(value) {
    try {
      var url = new URL(String(value), window.location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  var CHAT_ICON = "chat";

  /*
   * Builds the widget inside `root` (a shadow root). `handlers`: send(text, label),
   * newChat(), typing(on), opened().
   */
  NS.createView = function (root, config, handlers) {
    var s = config.strings || {};
    var md = NS.markdown;

    var launcher = button("launcher", icon(CHAT_ICON), s.launcher_label);
    launcher.id = "launcher";
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-controls", "panel");

    var panel = el("section", "chat");
    panel.id = "panel";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", config.title || "Support chat");
    panel.hidden = true;

    var header = el("header", "chat__header");
    var avatarSrc = config.avatar_url ? safeUrl(config.avatar_url) : null;
    if (avatarSrc) {
      var avatar = el("img", "chat__avatar");
      avatar.src = avatarSrc;
      avatar.alt = "";
      header.appendChild(avatar);
    }
    var heading = el("div", "chat__heading");
    heading.appendChild(el("h2", "chat__title", config.title || "Support"));
    var statusLine = el("p", "chat__status", s.connecting);
    statusLine.id = "status";
    statusLine.setAttribute("role", "status");
    heading.appendChild(statusLine);
    header.appendChild(heading);
    var newChat = button("chat__new", s.new_chat);
    newChat.id = "new-chat";
    header.appendChild(newChat);
    var close = button("chat__close", "\u00D7", s.close_label);
    close.id = "close";
    header.appendChild(close);
    panel.appendChild(header);

    var offline = el("p", "chat__offline", s.offline);
    offline.id = "offline";
    offline.hidden = true;
    panel.appendChild(offline);
    var queue = el("p", "chat__queue");
    queue.id = "queue";
    queue.setAttribute("role", "status");
    queue.hidden = true;
    panel.appendChild(queue);

    var log = el("ol", "chat__log");
    log.id = "log";
    log.setAttribute("aria-label", "Messages");
    log.tabIndex = 0; // scrollable with the keyboard
    panel.appendChild(log);
    var live = el("div", "visually-hidden");
    live.id = "live";
    live.setAttribute("aria-live", "polite");
    live.setAttribute("aria-atomic", "true");
    panel.appendChild(live);

    var typingLine = el("p", "chat__typing");
    typingLine.id = "typing";
    typingLine.hidden = true;
    panel.appendChild(typingLine);
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
    var send = el("button", "chat__send", s.send);
    send.type = "submit";
    send.id = "send";
    form.appendChild(label);
    form.appendChild(input);
    form.appendChild(send);
    panel.appendChild(form);

    root.appendChild(launcher);
    root.appendChild(panel);

    // -- behaviour -------------------------------------------------------------------

    function open() {
      panel.hidden = false;
      launcher.setAttribute("aria-expanded", "true");
      root.host.classList.add("is-open");
      scrollDown();
      input.focus();
      handlers.opened();
    }

    function closePanel() {
      panel.hidden = true;
      launcher.setAttribute("aria-expanded", "false");
      root.host.classList.remove("is-open");
      launcher.focus();
    }

    launcher.addEventListener("click", function () {
      if (panel.hidden) open();
      else closePanel();
    });
    close.addEventListener("click", closePanel);
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") closePanel();
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
      if (event.key === "Enter" && !event.shiftKey) {
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

    function scrollDown() {
      log.scrollTop = log.scrollHeight;
    }

    function append(item) {
      log.appendChild(item);
      scrollDown();
      return item;
    }

    function announce(text) {
      live.textContent = "";
      // A fresh text node in a later task is what screen readers reliably announce.
      setTimeout(function () { live.textContent = text; }, 50);
    }

    function quickReplies(item, replies, csat) {
      var group = el("div", csat ? "replies replies--csat" : "replies");
      group.setAttribute("role", "group");
      replies.forEach(function (reply) {
        if (!reply || typeof reply.payload !== "string") return;
        var title = reply.title || reply.payload;
        var b = button("replies__button", title, csat ? fill(s.rating_label, { value: title }) : null);
        b.addEventListener("click", function () {
          group.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
          b.classList.add("is-chosen");
          handlers.send(reply.payload, title);
        });
        group.appendChild(b);
      });
      if (group.childNodes.length) item.appendChild(group);
    }

    function feedback(item) {
      var group = el("div", "feedback");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", s.helpful + " / " + s.not_helpful);
      [
        ["up", s.helpful, config.feedback_helpful_payload],
        ["down", s.not_helpful, config.feedback_not_helpful_payload],
      ].forEach(function (spec) {
        var b = button("feedback__button", icon(spec[0]), spec[1]);
        b.title = spec[1];
        b.addEventListener("click", function () {
          group.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
          b.setAttribute("aria-pressed", "true");
          group.appendChild(el("span", "feedback__thanks", s.feedback_thanks));
          handlers.send(spec[2], spec[1]);
        });
        group.appendChild(b);
      });
      item.appendChild(group);
    }

    function sourceOf(meta) {
      var source = meta.source;
      var sourceUrl = source && md.safeHref(source.url);
      if (!sourceUrl || !/^https?:/.test(sourceUrl)) return null;
      var line = el("div", "msg__source", (s.source || "Source:") + " ");
      var a = el("a", null, source.title || source.url);
      a.href = sourceUrl;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      line.appendChild(a);
      return line;
    }

    /* A bot, agent or system message in rasa-webchat's bot_uttered shape. */
    function addMessage(message, isLive) {
      var meta = message.metadata || {};
      var sender = meta.sender === "agent" || meta.sender === "system" ? meta.sender : "bot";
      // Rasa sends an answer's source as a message of its own; the server adds a Markdown text
      // for other widgets (metadata.kind "source"). Here it is attached to the answer instead.
      var sourceOnly = sender === "bot" && !!meta.source && !message.quick_replies &&
        (meta.kind === "source" || !message.text);
      var text = sourceOnly ? null : message.text;
      if (sourceOnly) {
        var previous = log.lastElementChild;
        if (previous && previous.classList.contains("msg--bot") && !previous.querySelector(".msg__source")) {
          var sourceLine = sourceOf(meta);
          if (sourceLine) {
            if (typeof meta.message_id === "number") sourceLine.dataset.id = String(meta.message_id);
            previous.appendChild(sourceLine);
            if (previous.querySelector(".msg__bubble")) feedback(previous);
            return previous;
          }
        }
      }
      var item = el("li", "msg msg--" + sender);
      if (typeof meta.message_id === "number") item.dataset.id = String(meta.message_id);
      var name = null;
      if (sender === "agent") {
        name = meta.agent_name || s.agent_fallback_name;
        item.appendChild(el("div", "msg__name", name));
      }
      if (text) {
        var bubble = el("div", "msg__bubble");
        if (sender === "system") bubble.textContent = text;
        else bubble.appendChild(md.render(text));
        item.appendChild(bubble);
      }
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
      var line = sourceOf(meta);
      if (line) item.appendChild(line);
      var csat = meta.csat === true;
      if (Array.isArray(message.quick_replies)) quickReplies(item, message.quick_replies, csat);
      if (sender === "bot" && source && text) feedback(item);
      if (!item.childNodes.length) return null;
      append(item);
      if (isLive && text) announce((name || config.title || "") + ": " + text);
      return item;
    }

    function addUser(text, state) {
      var item = el("li", "msg msg--user msg--" + state);
      item.appendChild(el("div", "msg__bubble", text));
      item.appendChild(el("div", "msg__meta", ""));
      append(item);
      setUserState(item, state);
      return item;
    }

    function setUserState(item, state, detail) {
      item.classList.remove("msg--sending", "msg--sent", "msg--failed");
      item.classList.add("msg--" + state);
      item.querySelector(".msg__meta").textContent =
        state === "sent" ? s.sent : state === "sending" ? s.sending : detail || s.not_sent;
    }

    return {
      launcher: launcher,
      panel: panel,
      input: input,
      open: open,
      close: closePanel,
      isOpen: function () { return !panel.hidden; },
      addMessage: addMessage,
      addUser: addUser,
      setUserState: setUserState,
      announce: announce,
      clear: function () {
        while (log.firstChild) log.removeChild(log.firstChild);
      },
      welcome: function () {
        if (!config.welcome_message || log.querySelector(".welcome")) return;
        var item = el("li", "welcome");
        item.appendChild(el("div", "msg__bubble", config.welcome_message));
        log.insertBefore(item, log.firstChild);
      },
      setConnection: function (state) {
        statusLine.textContent = state === "online" ? s.online : state === "offline" ? s.offline : s.connecting;
        statusLine.classList.toggle("chat__status--online", state === "online");
        statusLine.classList.toggle("chat__status--offline", state === "offline");
        offline.hidden = state !== "offline";
        root.host.classList.toggle("is-offline", state === "offline");
      },
      showNotice: function (text) {
        notice.textContent = text || "";
        notice.hidden = !text;
      },
      setQueue: function (info) {
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
      },
      setTyping: function (text) {
        typingLine.textContent = text || "";
        typingLine.hidden = !text;
      },
      fill: fill,
    };
  };
})();
