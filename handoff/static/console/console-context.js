/*
 * tier1 agent console: the contact and context panel, and the knowledge-base search.
 *
 * For the open conversation: who the user is (their metadata), why the bot handed off,
 * their first and last question, the bot's knowledge-base hits (weak ones, below the KB's
 * answer threshold when the KB has told it, else 0.30, folded away and marked), and the
 * same user's earlier conversations. From 1280 px the panel sits on the right; narrower,
 * it is a drawer behind the "Details" toggle.
 */
(function (C) {
  "use strict";

  var PANEL_KEY = "tier1.console.details";
  var DEFAULT_WEAK = 0.3;
  var SHOWN_KEYS = ["name", "full_name", "fullname", "display_name", "displayname", "username",
    "email", "e-mail", "mail", "user_email", "useremail", "email_address"];

  C.kbThreshold = null; // the KB's answer threshold, once a search response tells it

  function weakBelow() { return C.kbThreshold !== null ? C.kbThreshold : DEFAULT_WEAK; }
  C.isWeakHit = function (score) { return typeof score === "number" && score < weakBelow(); };

  // -- the panel toggle ---------------------------------------------------------------------

  var app = C.$("app");
  function setPanel(open, remember) {
    app.classList.toggle("context-open", open);
    app.classList.toggle("context-closed", !open);
    C.$("context-toggle").setAttribute("aria-expanded", open ? "true" : "false");
    C.$("context").setAttribute("aria-hidden", !open && C.narrow() ? "true" : "false");
    if (remember && !C.narrow()) C.storageSet(PANEL_KEY, open ? "open" : "closed");
  }
  C.togglePanel = function (force) {
    var open = typeof force === "boolean" ? force : !app.classList.contains("context-open");
    setPanel(open, true);
    if (open && C.narrow()) C.$("context-close").focus();
  };
  function defaultPanel() {
    setPanel(!C.narrow() && C.storageGet(PANEL_KEY) !== "closed", false);
  }
  defaultPanel();
  window.matchMedia("(max-width: 1279px)").addEventListener("change", defaultPanel);
  C.$("context-toggle").addEventListener("click", function () { C.togglePanel(); });
  C.$("context-close").addEventListener("click", function () {
    C.togglePanel(false);
    C.$("context-toggle").focus();
  });

  // -- rendering ----------------------------------------------------------------------------

  function row(dl, term, value, className) {
    dl.appendChild(C.el("dt", null, term));
    var dd = C.el("dd", className || null);
    if (value instanceof Node) dd.appendChild(value); else dd.textContent = value;
    dl.appendChild(dd);
  }

  function firstQuestion(c) {
    var first = (c.messages || []).filter(function (m) {
      return m.sender === "user" && m.text && !C.isPayload(m.text);
    })[0];
    return first ? first.text : null;
  }

  C.renderContext = function (c) {
    var ctx = c.context || {};
    var md = c.user_metadata || {};
    var who = C.identity(md);

    var contact = C.$("ctx-contact");
    C.clear(contact);
    row(contact, "Name", who.name || "Not provided", who.name ? null : "muted");
    row(contact, "Email", who.email || "Not provided", who.email ? null : "muted");
    Object.keys(md).forEach(function (k) {
      if (SHOWN_KEYS.indexOf(k.toLowerCase()) >= 0) return;
      var v = md[k];
      row(contact, k, v !== null && typeof v === "object" ? JSON.stringify(v) : String(v));
    });

    var conv = C.$("ctx-conv");
    C.clear(conv);
    row(conv, "Status", C.statusLabel(c));
    var reason = C.el("span", null, c.reason ? C.reasonLabel(c.reason) : "—");
    reason.id = "ctx-reason";
    if (c.reason) reason.title = c.reason;
    row(conv, "Handoff reason", reason);
    if (ctx.trigger) row(conv, "Trigger", String(ctx.trigger));
    row(conv, "Started", C.timeEl(c.created_at));
    if (c.queued_at) row(conv, "Queued", C.timeEl(c.queued_at));
    var id = C.el("code", "ctx-id", c.id);
    row(conv, "Conversation", id);

    var first = firstQuestion(c);
    C.$("ctx-first").textContent = first || "—";
    var last = ctx.last_user_message || ctx.last_question;
    C.$("ctx-question").textContent = last || "—";
    C.$("ctx-question-row").hidden = !last || last === first;
    renderHits(Array.isArray(ctx.kb_hits) ? ctx.kb_hits : []);
    loadPrevious(c);
  };

  function hitItem(h, weak) {
    var li = C.el("li", "hit" + (weak ? " hit--weak" : ""));
    li.appendChild(C.el("div", "hit__title", h.title || ("Article " + h.article_id)));
    var score = C.el("div", "hit__score");
    if (typeof h.score === "number") score.textContent = "score " + h.score.toFixed(2);
    if (weak) score.appendChild(C.el("span", "tag tag--weak", "weak"));
    li.appendChild(score);
    return li;
  }

  var lastHits = [];
  function renderHits(hits) {
    lastHits = hits;
    var strong = C.$("ctx-hits"), weakList = C.$("ctx-weak-hits"), box = C.$("ctx-weak");
    C.clear(strong);
    C.clear(weakList);
    var weak = hits.filter(function (h) { return C.isWeakHit(h.score); });
    hits.forEach(function (h) {
      if (!C.isWeakHit(h.score)) strong.appendChild(hitItem(h, false));
    });
    weak.forEach(function (h) { weakList.appendChild(hitItem(h, true)); });
    if (!strong.childNodes.length) {
      strong.appendChild(C.el("li", "hit hit--none",
        hits.length ? "No confident match: the bot had nothing useful." : "No hits recorded."));
    }
    box.hidden = !weak.length;
    C.$("ctx-weak-summary").textContent = weak.length + " weak match" +
      (weak.length === 1 ? "" : "es") + " (score below " + weakBelow().toFixed(2) + ")";
  }

  var previousSeq = 0;
  function loadPrevious(c) {
    var seq = ++previousSeq;
    var ul = C.$("ctx-previous");
    C.clear(ul);
    ul.appendChild(C.el("li", "muted", "Loading…"));
    C.request("GET", "/conversations/" + encodeURIComponent(c.id) + "/previous").then(function (found) {
      if (seq !== previousSeq) return;
      C.clear(ul);
      var who = C.identity(c.user_metadata || {});
      if (!found.length) {
        ul.appendChild(C.el("li", "muted", who.email
          ? "No earlier conversations with " + who.email + "."
          : "Unknown user: their details carry no email or id to match."));
        return;
      }
      found.forEach(function (p) {
        var li = C.el("li", "prev");
        var a = C.el("a", "prev__link");
        a.href = "#" + encodeURIComponent(p.id);
        a.addEventListener("click", function (event) { event.preventDefault(); C.openConversation(p.id); });
        var top = C.el("span", "prev__top");
        top.appendChild(C.timeEl(p.created_at));
        top.appendChild(C.el("span", "prev__status", C.statusLabel(p)));
        a.appendChild(top);
        a.appendChild(C.el("span", "prev__q", p.first_question || "No question"));
        li.appendChild(a);
        ul.appendChild(li);
      });
    }).catch(function (e) {
      if (seq !== previousSeq || C.isAuthError(e)) return;
      C.clear(ul);
      ul.appendChild(C.el("li", "muted", "Could not load: " + e.message));
    });
  }

  // -- knowledge-base search ----------------------------------------------------------------

  var autoQuery = null; // the query the console filled in itself (replaced on the next open)
  function learnThreshold(res) {
    var by = res && res.decided_by;
    // A clarify decision's threshold is the margin; it names the answer threshold separately.
    var t = by && (by.rule === "within_clarify_margin" ? by.answer_threshold : by.threshold);
    if (typeof t === "number") {
      var changed = C.kbThreshold !== t;
      C.kbThreshold = t;
      if (changed) renderHits(lastHits);
    }
  }

  C.searchKb = function (q) {
    var results = C.$("kb-results");
    C.clear(results);
    results.appendChild(C.el("li", "hit muted", "Searching…"));
    return C.request("POST", "/kb/search", { text: q }).then(function (res) {
      learnThreshold(res);
      C.clear(results);
      (res.hits || []).forEach(function (h) {
        var weak = C.isWeakHit(Number(h.score));
        var li = hitItem({ title: h.title, score: Number(h.score), article_id: h.article_id }, weak);
        li.appendChild(C.el("div", "hit__answer", h.answer));
        li.appendChild(C.button("hit__insert", "Insert", function () {
          C.insertText(h.answer + (h.url ? "\n" + h.url : ""));
        }));
        results.appendChild(li);
      });
      if (!results.childNodes.length) results.appendChild(C.el("li", "hit muted", "No articles found."));
    }).catch(function (e) {
      C.clear(results);
      if (!C.isAuthError(e)) results.appendChild(C.el("li", "hit hit--error", e.message));
    });
  };

  C.$("kb-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var q = C.$("kb-query").value.trim();
    autoQuery = null;
    if (q) C.searchKb(q);
  });

  // Suggested articles: the user's last question, searched when a conversation opens.
  C.on("conversation:opened", function (c) {
    var box = C.$("kb-query");
    if (box.value && box.value !== autoQuery) return;
    var ctx = c.context || {};
    var q = ctx.last_user_message || ctx.last_question || firstQuestion(c);
    if (!q || C.isPayload(q)) return;
    autoQuery = q.slice(0, 500);
    box.value = autoQuery;
    C.searchKb(autoQuery);
  });
})(window.tier1Console = window.tier1Console || {});
