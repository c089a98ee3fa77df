/* An article's versions: readable labels ("v3 · published · 2 h ago by Ana"), the live one
   marked, word-level differences (jsdiff, vendored) and restoring an older version.

   Each revision keeps the whole article as it was BEFORE the change (null for "created"), so
   walking newest -> oldest from the live article rebuilds every version. */
(function () {
  "use strict";
  var A = window.Admin, el = A.el, $ = A.$;
  var ACTIONS = { created: "created", updated: "edited", published: "published", unpublished: "unpublished",
    archived: "archived", restored: "moved back to draft", deleted: "deleted" };
  var versions = []; // oldest first: {label, state, rev}; then the draft, if any

  A.loadVersions = async function (article) {
    var list = $("#revisions"), state = $("#versions-state"), form = $("#compare");
    $("#diff-view").replaceChildren(); versions = []; form.hidden = true; list.replaceChildren();
    if (!article) { A.empty(state, "No versions yet.", "The first one is made when you save."); return; }
    A.loading(state, "Loading versions\u2026");
    var revs, known;
    try {
      revs = await A.api("GET", "/api/kb/articles/" + article.id + "/revisions");
      known = revs.some(function (r) { return !r.actor_name; }) ? await A.people() : {};
    } catch (e) { A.failed(state, "the versions", e, function () { A.loadVersions(article); }); return; }
    if (!A.articles.current || A.articles.current.id !== article.id) return; // another article opened meanwhile
    A.done(state); state.replaceChildren();
    var after = A.content(article); after.status = article.status;
    var steps = revs.map(function (r, i) {
      var step = { rev: r, before: r.previous, after: after, live: i === 0 && article.status === "published" };
      after = r.previous;
      return step;
    });
    var items = [];
    if (article.draft) items.push(draftItem(article));
    steps.forEach(function (s) { items.push(versionItem(s, known)); });
    list.replaceChildren.apply(list, items);
    versions = steps.slice().reverse().map(function (s) { return { label: label(s.rev, known), state: s.after }; });
    if (article.draft) versions.push({ label: "Draft (not live)", state: A.content(article.draft) });
    ["from", "to"].forEach(function (name, i) {
      var sel = form.elements[name]; sel.replaceChildren();
      versions.forEach(function (v, k) { sel.append(el("option", { value: String(k), text: v.label })); });
      sel.value = String(Math.max(0, versions.length - 2 + i));
    });
    form.hidden = versions.length < 2;
  };

  /* "v3 · published · 2 h ago by Ana" */
  function label(r, known) {
    return "v" + r.version + " \u00b7 " + (ACTIONS[r.action] || r.action) + " \u00b7 " + A.ago(r.at) +
      " by " + A.personName(r.actor, r.actor_name, known);
  }
  A.versionLabel = label;

  function draftItem(article) {
    var d = article.draft, view = el("div", { class: "diff-slot" });
    return el("li", { class: "revision revision--draft", "data-revision": "draft" }, [
      el("div", { class: "revision__head" }, [el("strong", { text: "Draft" }), el("span", { class: "chip chip--changes", text: "not live" }),
        el("span", { class: "muted" }, [" saved ", A.when(d.saved_at), " by " + (d.saved_by_name || d.saved_by)])]),
      d.changed.length ? el("div", { class: "muted small", text: "Changes " + d.changed.join(", ") }) : null,
      el("div", { class: "revision__actions" }, [toggle(view, A.content(article), A.content(d), "Show changes against the live version")]),
      view]);
  }

  function versionItem(s, known) {
    var r = s.rev, view = el("div", { class: "diff-slot" });
    var head = [el("strong", { text: "v" + r.version }), " \u00b7 " + (ACTIONS[r.action] || r.action) + " \u00b7 ",
      A.when(r.at), " by " + A.personName(r.actor, r.actor_name, known)];
    if (s.live) head.push(" ", el("span", { class: "chip chip--published", text: "live" }));
    var actions = [];
    if (r.previous) actions.push(toggle(view, s.before, s.after, "Show changes"));
    if (s.after && !s.live && r.action !== "deleted") {
      actions.push(el("button", { type: "button", class: "restore small", text: "Restore v" + r.version, onclick: function () {
        A.restore(s.after, "v" + r.version);
      } }));
    }
    return el("li", { class: "revision", "data-revision": r.id, "data-version": r.version }, [
      el("div", { class: "revision__head" }, head),
      r.changed.length && r.previous ? el("div", { class: "muted small", text: "Changed " + r.changed.join(", ") }) : null,
      actions.length ? el("div", { class: "revision__actions" }, actions) : null, view]);
  }

  function toggle(view, before, after, text) {
    return el("button", { type: "button", class: "show-diff small", text: text, "aria-expanded": "false", onclick: function (ev) {
      var open = !view.childElementCount;
      view.replaceChildren.apply(view, open ? [A.diffTable(before || {}, after || {})] : []);
      ev.currentTarget.setAttribute("aria-expanded", String(open));
    } });
  }

  $("#compare").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var a = versions[Number(ev.target.elements.from.value)], b = versions[Number(ev.target.elements.to.value)];
    $("#diff-view").replaceChildren(el("p", { class: "small muted", text: a.label + " \u2192 " + b.label }), A.diffTable(a.state || {}, b.state || {}));
  });

  // Side by side: removed words struck out on the left, added words marked on the right.
  var DIFF_FIELDS = ["title", "answer", "questions", "tags", "status", "slug", "url", "locale"];
  A.diffTable = function (before, after) {
    var body = el("tbody");
    DIFF_FIELDS.forEach(function (k) {
      var a = before[k], b = after[k];
      if (!(k in before) && !(k in after)) return;
      if (JSON.stringify(a == null ? null : a) === JSON.stringify(b == null ? null : b)) return;
      var parts = Array.isArray(a) || Array.isArray(b)
        ? Diff.diffArrays(a || [], b || []).map(function (p) { return { added: p.added, removed: p.removed, value: p.value.join("\n") + "\n" }; })
        : Diff.diffWordsWithSpace(a == null ? "" : String(a), b == null ? "" : String(b));
      var left = el("td", { class: "diff__old" }), right = el("td", { class: "diff__new" });
      parts.forEach(function (p) {
        if (!p.added) left.append(p.removed ? el("del", { text: p.value }) : document.createTextNode(p.value));
        if (!p.removed) right.append(p.added ? el("ins", { text: p.value }) : document.createTextNode(p.value));
      });
      body.append(el("tr", { "data-field": k }, [el("th", { scope: "row", text: k }), left, right]));
    });
    if (!body.childNodes.length) return el("p", { class: "hint", text: "No differences." });
    return el("table", { class: "table diff" }, [el("thead", {}, [el("tr", {}, [el("th", { scope: "col", text: "field" }),
      el("th", { scope: "col", text: "before" }), el("th", { scope: "col", text: "after" })])]), body]);
  };
})();
