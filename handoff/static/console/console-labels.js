/*
 * tier1 agent console: what codes and payloads mean to a person.
 *
 * Handoff reasons ("low_confidence") become labels ("Bot not confident"); a user message
 * that is a button's payload ("/feedback_helpful", '/csat{"rating":5}') becomes what the
 * user saw and clicked: the message's own display_text (the widget sends the button's
 * title as customData), else the title of the button with that payload in an earlier bot
 * message, else a known label, else the intent's name in words.
 */
(function (C) {
  "use strict";

  var REASONS = {
    user_request: "Asked for a person",
    request_human: "Asked for a person",
    low_confidence: "Bot not confident",
    consecutive_failures: "Bot failed repeatedly",
    negative_feedback: "Answer didn't help",
    sensitive_topic: "Sensitive topic",
    frustration: "User frustrated",
    kb_unavailable: "Knowledge base unavailable",
    bot_unavailable: "Bot unavailable",
    assignment_timeout: "Previous agent didn't reply",
    agent_deactivated: "Previous agent left",
    transfer: "Transferred",
    user_returned: "User came back",
  };

  var STATUSES = {
    bot: "With the bot",
    queued: "Waiting in queue",
    assigned: "Assigned",
    resolved: "Resolved",
  };

  // Payloads of the bot's and the CSAT prompt's buttons, when no title is at hand.
  var PAYLOADS = {
    "/feedback_helpful": "👍 Helpful",
    "/feedback_not_helpful": "👎 Not helpful",
    "/affirm": "Yes",
    "/deny": "No",
    "/none_of_these": "None of these",
    "/request_human": "Talk to a person",
    "/greet": "Hello",
    "/goodbye": "Goodbye",
    "/thanks": "Thanks",
  };

  function words(code) {
    var text = String(code || "").replace(/[_-]+/g, " ").trim();
    return text ? text.charAt(0).toUpperCase() + text.slice(1) : "";
  }

  C.reasonLabel = function (code) {
    if (!code) return "";
    return REASONS[code] || words(code);
  };

  C.statusLabel = function (c) {
    if (!c) return "";
    if (c.status === "assigned" && c.assignee) {
      if (C.state.me && c.assignee.id === C.state.me.id) return "Assigned to you";
      return "Assigned to " + (c.assignee.display_name || "agent " + c.assignee.id);
    }
    return STATUSES[c.status] || words(c.status);
  };

  C.isPayload = function (text) { return /^\/[A-Za-z_][\w.-]*(\{.*\})?\s*$/.test(text || ""); };

  var CSAT = /^\/csat(\{.*\})\s*$/;
  C.csatRating = function (text) {
    var m = CSAT.exec(text || "");
    if (!m) return null;
    try {
      var rating = JSON.parse(m[1]).rating;
      return typeof rating === "number" && rating >= 1 && rating <= 5 ? rating : null;
    } catch (e) { return null; }
  };

  // buttonTitles: {payload: title} from the bot's earlier messages in the conversation.
  C.userLabel = function (message, buttonTitles) {
    var text = message.text || "";
    var meta = message.payload && message.payload.metadata;
    var shown = meta && typeof meta.display_text === "string" && meta.display_text.trim();
    if (!C.isPayload(text)) return { text: text, clicked: false };
    var rating = C.csatRating(text);
    if (rating !== null) return { text: "Rated " + rating + "/5", clicked: true, rating: rating };
    if (shown) return { text: shown, clicked: true };
    var key = text.trim();
    if (buttonTitles && buttonTitles[key]) return { text: buttonTitles[key], clicked: true };
    if (PAYLOADS[key]) return { text: PAYLOADS[key], clicked: true };
    var intent = key.slice(1).replace(/\{.*$/, "");
    return { text: words(intent), clicked: true };
  };

  // The same fields the server reads (handoff.conversation_search.identity_of).
  var NAME_KEYS = ["name", "full_name", "fullname", "display_name", "displayname", "username"];
  var EMAIL_KEYS = ["email", "e-mail", "mail", "user_email", "useremail", "email_address"];
  var NESTED = ["user", "customer", "contact"];

  C.identity = function (metadata) {
    var scopes = [];
    if (metadata && typeof metadata === "object") {
      scopes.push(metadata);
      Object.keys(metadata).forEach(function (k) {
        var v = metadata[k];
        if (NESTED.indexOf(k.toLowerCase()) >= 0 && v && typeof v === "object") scopes.push(v);
      });
    }
    function pick(keys) {
      for (var i = 0; i < scopes.length; i++) {
        var lowered = {};
        Object.keys(scopes[i]).forEach(function (k) { lowered[k.toLowerCase()] = scopes[i][k]; });
        for (var j = 0; j < keys.length; j++) {
          var v = lowered[keys[j]];
          if ((typeof v === "string" || typeof v === "number") && String(v).trim()) {
            return String(v).trim();
          }
        }
      }
      return null;
    }
    var name = pick(NAME_KEYS);
    if (!name) {
      name = [pick(["first_name", "firstname"]), pick(["last_name", "lastname"])]
        .filter(Boolean).join(" ") || null;
    }
    var email = pick(EMAIL_KEYS);
    return { name: name, email: email ? email.toLowerCase() : null };
  };

  // How a conversation is titled in lists and headers.
  C.visitorName = function (c) {
    var name = c.user_name, email = c.user_email;
    if (!name && !email && c.user_metadata) {
      var who = C.identity(c.user_metadata);
      name = who.name; email = who.email;
    }
    return name || email || "Visitor " + String(c.id || "").slice(0, 6);
  };
})(window.tier1Console = window.tier1Console || {});
