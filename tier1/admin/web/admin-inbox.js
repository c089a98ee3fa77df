/* The unanswered inbox: what the bot could not answer, grouped, with when it was asked, links
   to the transcripts in the agent console (/console#<conversation id>), and one click to fix
   it. Attach and Dismiss can be undone from their toast; "Draft new article" is a dialog. */
(function () {
  "use strict";
  var A = window.Admin, el = A.el, $ = A.$;
  var KINDS = { low_confidence: "low confidence", not_helpful: "\u201cNot helpful\u201d", abandoned_clarification: "left at \u201cDid you mean\u2026?\u201d" };
  var SHOWN_LINKS = 3;

  async function loadInbox() {
    var box = $("#inbox");
    // The first load shows a loading state; a refresh keeps the cards, marked busy.
    if (!box.childElementCount || box.querySelector(".state")) A.loading(box, "Loading unanswered questions\u2026");
    else box.setAttribute("aria-busy", "true");
    var items;
    try {
      items = await A.api("GET", "/api/admin/unanswered");
      if (!Object.keys(A.articles.byId).length) await A.loadArticles(); // the attach menus list them
    } catch (e) { A.failed(box, "the unanswered questions", e, loadInbox); return; }
    A.done(box);
    $("#inbox-count").textContent = String(items.length);
    if (!items.length) {
      A.empty(box, "Nothing unanswered.", "The bot answered everything it was asked. Questions it could not answer show up here, grouped by similarity.");
      return;
    }
    box.replaceChildren.apply(box, items.map(card));
  }
  A.loadInbox = loadInbox;
  $("#inbox-refresh").addEventListener("click", loadInbox);

  function card(it) {
    var headingId = "item-" + it.id;
    var selectId = "attach-" + it.id;
    var select = el("select", { id: selectId });
    var articles = Object.values(A.articles.byId).sort(function (a, b) {
      return (b.id === it.suggested_article_id) - (a.id === it.suggested_article_id) || a.title.localeCompare(b.title);
    });
    articles.forEach(function (a) {
      var suggested = a.id === it.suggested_article_id;
      select.append(el("option", { value: a.id, selected: suggested, text: (suggested ? "\u2605 " : "") + a.title +
        (a.status !== "published" ? " (" + a.status + ")" : "") }));
    });
    var kinds = Object.keys(it.kinds).map(function (k) {
      return el("span", { class: "chip chip--kind", text: (KINDS[k] || k.replace(/_/g, " ")) + " \u00d7" + it.kinds[k] });
    });
    var others = it.examples.slice(1);
    var node = el("article", { class: "card", "data-item": it.id, "aria-labelledby": headingId }, [
      el("div", { class: "card__head" }, [
        el("span", { class: "card__count", title: A.plural(it.count, "failed question"), text: it.count + "\u00d7" }),
        el("h2", { class: "card__title", id: headingId, text: it.examples[0] })].concat(kinds)),
      el("p", { class: "card__meta muted" }, [A.when(it.last_seen, "Last asked "), it.count > 1 ? " \u00b7 " : "",
        it.count > 1 ? A.when(it.first_seen, "first ") : "", " \u00b7 " + A.plural(it.phrasings, "phrasing")]),
      others.length ? el("ul", { class: "card__examples" }, others.map(function (x) { return el("li", { text: x }); })) : null,
      it.draft_answer ? el("blockquote", { class: "card__reply" }, [el("span", { class: "muted small", text: "An agent replied: " }), it.draft_answer]) : null,
      transcripts(it),
      suggestion(it),
      el("div", { class: "toolbar card__actions" }, [el("label", { for: selectId, text: "Attach to" }), select,
        el("button", { type: "button", class: "attach accent", text: "Attach", onclick: function (ev) { attach(it, Number(select.value), ev.currentTarget); } }),
        el("button", { type: "button", class: "draft", text: "Draft new article", onclick: function () { draftDialog(it); } }),
        el("button", { type: "button", class: "dismiss ghost", text: "Dismiss", onclick: function (ev) { dismiss(it, ev.currentTarget); } })]),
    ]);
    if (!articles.length) select.append(el("option", { value: "", text: "No articles yet" }));
    return node;
  }

  /* The article the knowledge base ranks first for the question, and how close it came. */
  function suggestion(it) {
    if (it.suggested_article_id == null) return null;
    return el("p", { class: "suggestion small" }, [el("span", { class: "muted", text: "Suggested (\u2605): " }),
      it.suggested_title, el("span", { class: "muted", text: " (score " + it.suggested_score.toFixed(2) + ")" })]);
  }

  function transcripts(it) {
    var ids = it.conversations, links = ids.slice(0, SHOWN_LINKS).map(function (cid, i) {
      return el("a", { href: "/console#" + encodeURIComponent(cid), target: "_blank", rel: "noopener", class: "transcript",
        "aria-label": "Transcript " + (i + 1) + " of \u201c" + it.examples[0] + "\u201d in the agent console (opens a new tab)",
        text: "Conversation " + (i + 1) });
    });
    var parts = [el("span", { class: "muted", text: ids.length === 1 ? "Transcript: " : "Transcripts: " })];
    links.forEach(function (a, i) { if (i) parts.push(", "); parts.push(a); });
    if (ids.length > SHOWN_LINKS) parts.push(el("span", { class: "muted", text: " and " + (ids.length - SHOWN_LINKS) + " more" }));
    return el("p", { class: "card__links small" }, parts);
  }

  async function attach(it, articleId, button) {
    if (!articleId) { A.error("Choose the article that answers this question first."); return; }
    button.disabled = true;
    try {
      var r = await A.api("POST", "/api/admin/unanswered/" + it.id + "/attach", { article_id: articleId });
      var added = r.added.length ? "Added " + A.plural(r.added.length, "phrasing") + " to \u201c" + r.article.title + "\u201d: the bot answers them now."
        : "\u201c" + r.article.title + "\u201d already had these phrasings; the question left the inbox.";
      A.toast(added, { action: { label: "Undo", run: function () { undo(it, "The phrasings left \u201c" + r.article.title + "\u201d and the question is back in the inbox."); } } });
      A.loadArticles(); loadInbox();
    } catch (e) { button.disabled = false; A.error(e.message); }
  }

  async function dismiss(it, button) {
    button.disabled = true;
    try {
      await A.api("POST", "/api/admin/unanswered/" + it.id + "/dismiss");
      A.toast("Dismissed \u201c" + it.examples[0] + "\u201d.", { action: { label: "Undo", run: function () { undo(it, "The question is back in the inbox."); } } });
      loadInbox();
    } catch (e) { button.disabled = false; A.error(e.message); }
  }

  async function undo(it, message) {
    try {
      await A.api("POST", "/api/admin/unanswered/" + it.id + "/undo");
      A.toast("Undone. " + message);
      A.loadArticles(); await loadInbox();
      var back = document.querySelector('[data-item="' + it.id + '"] button.attach');
      if (back) back.focus();
    } catch (e) { A.error(e.message); }
  }

  /* "Draft new article": title, slug (from the title until edited), answer, which phrasings. */
  function draftDialog(it) {
    var title = el("input", { name: "title", required: true, maxlength: "200", value: it.examples[0] });
    var slug = el("input", { name: "slug", required: true, maxlength: "200", spellcheck: "false", autocomplete: "off", value: A.slugify(it.examples[0]) });
    var answer = el("textarea", { name: "answer", rows: "5", required: true });
    answer.value = it.draft_answer || "";
    var touched = false;
    slug.addEventListener("input", function () { touched = true; });
    title.addEventListener("input", function () { if (!touched) slug.value = A.slugify(title.value); });
    var boxes = it.examples.map(function (x, i) {
      return el("label", { class: "check" }, [el("input", { type: "checkbox", name: "q" + i, value: x, checked: true }), " " + x]);
    });
    var questions = el("fieldset", { class: "field" }, [el("legend", { text: "Questions it answers" })].concat(boxes));
    return A.dialog({
      title: "Draft a new article",
      body: [el("p", { class: "hint", text: "It is saved as a draft: the bot uses it once you publish it under Articles." }),
        A.field("Title", title), A.field("Slug", slug, "Lowercase letters and digits in words joined by single dashes, e.g. gift-cards."),
        A.field("Answer (Markdown)", answer, it.draft_answer ? "Prefilled with an agent's reply from one of the conversations." : null), questions],
      submit: "Create draft",
      onSubmit: async function () {
        if (!A.SLUG.test(slug.value.trim())) {
          slug.focus();
          throw new Error("\u201c" + slug.value + "\u201d is not a valid slug: use lowercase letters and digits in words joined by single dashes, e.g. " + (A.slugify(slug.value) || "gift-cards") + ".");
        }
        var chosen = boxes.map(function (b) { return b.querySelector("input"); }).filter(function (i) { return i.checked; }).map(function (i) { return i.value; });
        var body = { title: title.value.trim(), slug: slug.value.trim(), answer: answer.value };
        // All ticked: every phrasing of the group, also those beyond the examples shown.
        if (chosen.length < boxes.length) body.questions = chosen;
        return A.api("POST", "/api/admin/unanswered/" + it.id + "/draft", body);
      },
    }).then(function (r) {
      if (!r) return;
      A.toast("Drafted \u201c" + r.article.title + "\u201d. Review it and publish it under Articles.", { action: { label: "Open it", run: function () {
        A.showTab("articles"); A.openArticle(r.article.id);
      } } });
      A.loadArticles(); loadInbox();
    });
  }
})();
