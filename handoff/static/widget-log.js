/*
 * tier1 widget: the message log (an <ol>): bubbles, time dividers, quick replies, the
 * "Did this help?" prompt and the rating prompt.
 *
 * One feedback prompt per answer: the bot asks "Did this help?" with two quick replies
 * (the configured feedback payloads), which is all rasa-webchat users get; here that prompt
 * is drawn as thumbs under the answer it is about, and a tap sends the same payload. The
 * user's answer is shown on the prompt ("Thanks for the feedback."), not as a bubble of its
 * own. Quick replies and the prompt go inactive once answered or once a newer message
 * arrives, so only the latest question can be answered.
 */
(function () {
  "use strict";
  var NS = (window.Tier1Widget = window.Tier1Widget || {});
  var dom = NS.dom;
  var el = dom.el;

  var GROUP_GAP_MS = 5 * 60 * 1000; // a pause this long starts a new time group
  var CSAT_FIVE = ["Very poor", "Poor", "Okay", "Good", "Excellent"];
  var CSAT_TWO = { 1: "Bad", 5: "Good" };

  function parseTime(value) {
    if (typeof value === "number") return value;
    if (typeof value !== "string") return null;
    // The server sends ISO 8601 with an offset; one without is UTC, not local time.
    var iso = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : value + "Z";
    var t = Date.parse(iso);
    return isNaN(t) ? null : t;
  }

  function locale() {
    return document.documentElement.lang || navigator.language || undefined;
  }

  function clock(t) {
    return new Date(t).toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit" });
  }

  function fullTime(t) {
    return new Date(t).toLocaleString(locale(), { dateStyle: "full", timeStyle: "short" });
  }

  function capitalised(text) {
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  /* "now", "4 minutes ago", "14:02", "yesterday 14:02", "Monday 14:02", "3 June 14:02". */
  function relativeTime(t, now) {
    var minutes = Math.floor(Math.max(0, now - t) / 60000);
    var rtf = window.Intl && Intl.RelativeTimeFormat
      ? new Intl.RelativeTimeFormat(locale(), { numeric: "auto" }) : null;
    if (minutes < 60 && rtf) {
      return capitalised(minutes < 1 ? rtf.format(0, "second") : rtf.format(-minutes, "minute"));
    }
    var day = new Date(t);
    var today = new Date(now);
    var days = Math.round((new Date(today.getFullYear(), today.getMonth(), today.getDate()) -
      new Date(day.getFullYear(), day.getMonth(), day.getDate())) / 86400000);
    if (days <= 0) return clock(t);
    if (days === 1 && rtf) return capitalised(rtf.format(-1, "day")) + " " + clock(t);
    if (days < 7) return day.toLocaleDateString(locale(), { weekday: "long" }) + " " + clock(t);
    return day.toLocaleDateString(locale(), { day: "numeric", month: "long" }) + " " + clock(t);
  }

  NS.time = relativeTime;

  function ratingOf(payload) {
    var m = /"rating"\s*:\s*(\d+)/.exec(String(payload));
    return m ? Number(m[1]) : null;
  }

  /*
   * `list`: the <ol>. `handlers`: send(text, label, anchor) - anchor, when given, is the
   * element that shows the message's state instead of a new user bubble -, announce(text).
   */
  NS.createLog = function (list, config, handlers) {
    var s = config.strings || {};
    var md = NS.markdown;
    var helpful = config.feedback_helpful_payload || "/feedback_helpful";
    var notHelpful = config.feedback_not_helpful_payload || "/feedback_not_helpful";
    var lastTime = null; // when the newest message on screen was sent

    function lastMessage() {
      var items = list.querySelectorAll(".msg");
      return items.length ? items[items.length - 1] : null;
    }

    function stamp(item, time) {
      if (time === null) return;
      item.dataset.time = String(time);
      var bubble = item.querySelector(".msg__bubble");
      if (bubble) bubble.title = fullTime(time);
    }

    function divider(time) {
      var item = el("li", "divider");
      var label = el("time", null, relativeTime(time, Date.now()));
      label.dateTime = new Date(time).toISOString();
      label.title = fullTime(time);
      label.dataset.time = String(time);
      item.appendChild(label);
      return item;
    }

    /* Old questions can no longer be answered once something newer is said. */
    function retire() {
      list.querySelectorAll(".replies:not(.is-done), .feedback:not(.is-done)").forEach(
        function (group) {
          group.classList.add("is-done");
          group.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
        });
    }

    function append(item, time) {
      retire();
      if (time !== null && (lastTime === null || time - lastTime > GROUP_GAP_MS)) {
        list.appendChild(divider(time));
      }
      if (time !== null) lastTime = Math.max(lastTime || 0, time);
      list.appendChild(item);
      stamp(item, time);
      return item;
    }

    // -- quick replies, the feedback prompt, the rating prompt ----------------------------

    function quickReplies(item, replies, csat, prompt) {
      var group = el("div", csat ? "replies replies--csat" : "replies");
      group.setAttribute("role", "group");
      if (prompt) group.setAttribute("aria-label", prompt);
      replies.forEach(function (reply) {
        if (!reply || typeof reply.payload !== "string") return;
        var title = reply.title || reply.payload;
        var label = title;
        var b;
        if (csat) {
          var rating = ratingOf(reply.payload);
          var word = replies.length === 2 ? CSAT_TWO[rating] : CSAT_FIVE[rating - 1];
          b = dom.button("replies__button csat__option");
          b.appendChild(el("span", "csat__value", title));
          if (word) {
            b.appendChild(el("span", "csat__word", word));
            label = title + " \u2013 " + word;
          }
        } else {
          b = dom.button("replies__button", title);
        }
        b.addEventListener("click", function () {
          group.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
          group.classList.add("is-done");
          b.classList.add("is-chosen");
          b.setAttribute("aria-pressed", "true");
          handlers.send(reply.payload, label);
        });
        group.appendChild(b);
      });
      if (group.childNodes.length) item.appendChild(group);
    }

    function isFeedbackPrompt(message) {
      var replies = message.quick_replies;
      if (!Array.isArray(replies) || replies.length !== 2) return false;
      var payloads = replies.map(function (r) { return r && r.payload; });
      return payloads.indexOf(helpful) !== -1 && payloads.indexOf(notHelpful) !== -1;
    }

    function markChosen(row, payload) {
      row.classList.add("is-done", "is-answered");
      row.querySelectorAll("button").forEach(function (b) {
        b.disabled = true;
        if (b.dataset.payload === payload) {
          b.classList.add("is-chosen");
          b.setAttribute("aria-pressed", "true");
        }
      });
      var status = row.querySelector(".feedback__status");
      status.textContent = s.feedback_thanks || "";
      return status;
    }

    /* The bot's "Did this help?" drawn as thumbs under the answer before it. */
    function feedbackPrompt(message, meta, isLive) {
      var question = message.text || "";
      var row = el("div", "feedback");
      row.setAttribute("role", "group");
      row.setAttribute("aria-label", question || s.helpful + " / " + s.not_helpful);
      if (typeof meta.message_id === "number") row.dataset.id = String(meta.message_id);
      if (question) row.appendChild(el("span", "feedback__question", question));
      [["up", s.helpful, helpful], ["down", s.not_helpful, notHelpful]].forEach(function (spec) {
        var b = dom.button("feedback__button", dom.icon(spec[0]), spec[1]);
        b.title = spec[1];
        b.dataset.payload = spec[2];
        b.setAttribute("aria-pressed", "false");
        b.addEventListener("click", function () {
          handlers.send(spec[2], spec[1], markChosen(row, spec[2]));
        });
        row.appendChild(b);
      });
      var status = el("span", "feedback__status");
      status.setAttribute("role", "status");
      row.appendChild(status);

      var time = parseTime(meta.created_at);
      var host = lastMessage();
      if (host && host.classList.contains("msg--bot") && !host.querySelector(".feedback") &&
          host.querySelector(".msg__bubble")) {
        retire();
        host.appendChild(row);
      } else {
        host = el("li", "msg msg--bot");
        host.appendChild(row);
        append(host, time);
      }
      if (isLive && question) handlers.announce((config.title || "") + ": " + question);
      return host;
    }

    /* The user's answer to the latest feedback prompt (a replayed or resent message): shown
       on the prompt. Returns the element that shows its state, or null if no prompt waits. */
    function answerFeedback(payload, messageId) {
      if (payload !== helpful && payload !== notHelpful) return null;
      var open = list.querySelectorAll(".feedback:not(.is-done)");
      if (!open.length) return null;
      var status = markChosen(open[open.length - 1], payload);
      if (typeof messageId === "number") status.dataset.id = String(messageId);
      return status;
    }

    // -- messages ---------------------------------------------------------------------------

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
      if (sender === "bot" && isFeedbackPrompt(message)) return feedbackPrompt(message, meta, isLive);
      // Rasa sends an answer's source as a message of its own; the server adds a Markdown text
      // for other widgets (metadata.kind "source"). Here it is attached to the answer instead.
      var sourceOnly = sender === "bot" && !!meta.source && !message.quick_replies &&
        (meta.kind === "source" || !message.text);
      var text = sourceOnly ? null : message.text;
      if (sourceOnly) {
        var previous = lastMessage();
        if (previous && previous.classList.contains("msg--bot") && !previous.querySelector(".msg__source")) {
          var sourceLine = sourceOf(meta);
          if (sourceLine) {
            if (typeof meta.message_id === "number") sourceLine.dataset.id = String(meta.message_id);
            retire();
            previous.appendChild(sourceLine);
            return previous;
          }
        }
      }
      var item = el("li", "msg msg--" + sender);
      if (typeof meta.message_id === "number") item.dataset.id = String(meta.message_id);
      var name = null;
      var time = parseTime(meta.created_at);
      if (sender === "agent") {
        name = meta.agent_name || s.agent_fallback_name;
        item.dataset.agent = name;
        var before = lastMessage();
        var continues = before && before.dataset.agent === name && time !== null &&
          lastTime !== null && time - lastTime <= GROUP_GAP_MS;
        if (continues) {
          item.classList.add("msg--cont");
        } else {
          item.appendChild(dom.avatar("msg__avatar", name));
          item.appendChild(el("div", "msg__name", name));
        }
      }
      if (text) {
        var bubble = el("div", "msg__bubble");
        if (sender === "system") bubble.textContent = text;
        else bubble.appendChild(md.render(text));
        item.appendChild(bubble);
      }
      var attachment = message.attachment;
      if (attachment && attachment.type === "image" && attachment.payload) {
        var src = dom.safeUrl(attachment.payload.src);
        if (src) {
          var img = el("img", "msg__image");
          img.src = src;
          img.alt = "";
          item.appendChild(img);
        }
      }
      var line = sourceOf(meta);
      if (line) item.appendChild(line);
      if (!text && !item.querySelector(".msg__image, .msg__source") &&
          !Array.isArray(message.quick_replies)) {
        return null;
      }
      if (meta.csat === true) item.classList.add("msg--csat");
      append(item, time);
      if (Array.isArray(message.quick_replies)) {
        quickReplies(item, message.quick_replies, meta.csat === true, text);
      }
      if (isLive && text) handlers.announce((name || config.title || "") + ": " + text);
      return item;
    }

    /* Only the newest user bubble says "Sent"; one still sending or not sent always says so. */
    function receipts() {
      var users = list.querySelectorAll(".msg--user");
      users.forEach(function (item, i) {
        var meta = item.querySelector(".msg__meta");
        meta.hidden = i !== users.length - 1 && item.classList.contains("msg--sent");
      });
    }

    function addUser(text, state, createdAt) {
      var item = el("li", "msg msg--user msg--" + state);
      item.appendChild(el("div", "msg__bubble", text));
      item.appendChild(el("div", "msg__meta", ""));
      var time = parseTime(createdAt);
      append(item, time === null ? Date.now() : time);
      setUserState(item, state);
      return item;
    }

    function setUserState(item, state, detail) {
      var text = state === "sent" ? s.sent : state === "sending" ? s.sending : detail || s.not_sent;
      if (item.classList.contains("feedback__status")) {
        // An answer shown on its prompt: thanks at once; only a failure says more.
        item.textContent = state === "failed" ? text : s.feedback_thanks || "";
        item.classList.toggle("is-failed", state === "failed");
        return;
      }
      item.classList.remove("msg--sending", "msg--sent", "msg--failed");
      item.classList.add("msg--" + state);
      item.querySelector(".msg__meta").textContent = text;
      receipts();
    }

    function refreshTimes() {
      var now = Date.now();
      list.querySelectorAll(".divider time").forEach(function (t) {
        t.textContent = relativeTime(Number(t.dataset.time), now);
      });
    }
    setInterval(refreshTimes, 30000);

    return {
      addMessage: addMessage,
      addUser: addUser,
      setUserState: setUserState,
      answerFeedback: answerFeedback,
      refreshTimes: refreshTimes,
      clear: function () {
        while (list.firstChild) list.removeChild(list.firstChild);
        lastTime = null;
      },
      welcome: function (text) {
        if (!text || list.querySelector(".welcome")) return;
        var item = el("li", "welcome");
        item.appendChild(el("div", "msg__bubble", text));
        list.insertBefore(item, list.firstChild);
      },
    };
  };
})();
