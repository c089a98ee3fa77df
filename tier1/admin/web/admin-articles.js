/* Articles: the searchable list and the editor beside it.

   A published article is edited through its draft: "Save draft" keeps the edits beside the
   live version (PUT /api/kb/articles/{id}/draft) and the bot keeps answering with the live one
   until "Publish changes" (POST .../publish). An article that is not live (draft, archived)
   has nothing to protect, so its edits are saved on it directly (PATCH). */
(function () {
  "use strict";
  var A = window.Admin, el = A.el, $ = A.$;
  var FIELDS = ["slug", "title", "answer", "url", "tags", "locale", "questions"];
  var STATUS = { published: "Published", draft: "Draft", archived: "Archived" };
  var S = A.articles = { byId: {}, current: null, loaded: null, dirty: false, slugTouched: false };
  var form = $("#article-form");

  // -- list --------------------------------------------------------------------------------
  var listRequest = 0;
  async function loadArticles() {
    var f = new FormData($("#article-filter")), q = new URLSearchParams({ limit: "500" });
    ["q", "status", "tag"].forEach(function (k) { if (String(f.get(k) || "").trim()) q.set(k, String(f.get(k)).trim()); });
    var state = $("#article-state"), mine = ++listRequest;
    if (!$("#article-rows").childElementCount) A.loading(state, "Loading articles\u2026");
    try {
      var page = await A.api("GET", "/api/kb/articles?" + q);
      if (mine !== listRequest) return; // a newer search is on its way
      page.items.forEach(function (a) { S.byId[a.id] = a; });
      renderList(page, String(f.get("q") || "").trim());
    } catch (e) {
      if (mine !== listRequest) return;
      $("#article-rows").replaceChildren();
      A.failed(state, "the articles", e, loadArticles);
    }
  }
  A.loadArticles = loadArticles;

  function renderList(page, query) {
    var rows = $("#article-rows"), state = $("#article-state");
    A.done(state); state.replaceChildren();
    $("#article-total").textContent = "(" + page.total + ")";
    var items = page.items.slice().sort(function (a, b) { return b.updated_at < a.updated_at ? -1 : 1; });
    rows.replaceChildren.apply(rows, items.map(function (a) { return row(a, query); }));
    if (!items.length) {
      var filtered = query || $("#article-filter").status.value || $("#article-filter").tag.value;
      if (filtered) A.empty(state, "No article matches.", "Search looks in titles, slugs, answers and questions. Try other words or clear the filters.",
        [el("button", { type: "button", text: "Clear filters", onclick: function () { $("#article-filter").reset(); loadArticles(); } })]);
      else A.empty(state, "No articles yet.", "Write the first one, or import a file of articles.", [
        el("button", { type: "button", class: "primary", text: "New article", onclick: function () { openArticle(null); } }),
        el("button", { type: "button", text: "Import articles", onclick: function () { A.showTab("import"); } })]);
    }
  }

  function row(a, query) {
    var open = S.current && S.current.id === a.id;
    var title = el("button", { type: "button", class: "linklike", text: a.title, "aria-current": open ? "true" : null,
      onclick: function () { openArticle(a.id); } });
    function status() {
      return [chip(a.status), a.draft ? " " : null, a.draft ? el("span", { class: "chip chip--changes", text: "Unpublished changes" }) : null];
    }
    // Beside an open article the list is narrow: the status moves under the title.
    return el("tr", { "data-id": a.id, class: open ? "is-open" : "" }, [
      el("td", {}, [title, el("div", { class: "muted small", text: a.slug }), el("div", { class: "compact" }, status()), matchNote(a, query)]),
      el("td", { class: "wide" }, status()),
      el("td", { class: "wide", text: String(a.questions.length) }),
      el("td", { class: "wide", text: a.tags.join(", ") }),
      el("td", { class: "wide" }, [A.when(a.updated_at)])]);
  }
  function chip(status) { return el("span", { class: "chip chip--" + status, text: STATUS[status] || status }); }
  A.statusChip = chip;

  /* Where a search matched when it was not the title: the answer or a question. */
  function matchNote(a, query) {
    if (!query) return null;
    var q = query.toLowerCase();
    if (a.title.toLowerCase().indexOf(q) >= 0 || a.slug.indexOf(q) >= 0) return null;
    var question = a.questions.filter(function (x) { return x.toLowerCase().indexOf(q) >= 0; })[0];
    if (question) return el("div", { class: "match small" }, ["Question: ", el("mark", { text: question })]);
    var i = a.answer.toLowerCase().indexOf(q);
    if (i < 0) return null;
    var start = Math.max(0, i - 30);
    return el("div", { class: "match small" }, ["Answer: " + (start ? "\u2026" : "") + a.answer.slice(start, i),
      el("mark", { text: a.answer.slice(i, i + query.length) }), a.answer.slice(i + query.length, i + query.length + 40) + "\u2026"]);
  }

  var searchTimer = null;
  $("#article-filter").addEventListener("submit", function (ev) { ev.preventDefault(); loadArticles(); });
  $("#article-filter").addEventListener("input", function () { clearTimeout(searchTimer); searchTimer = setTimeout(loadArticles, 250); });
  // Text fields search as you type (above); a text field's "change" on blur would reload the
  // list under the pointer, so only the status menu reloads on change.
  $("#article-filter").addEventListener("change", function (ev) { if (ev.target.tagName === "SELECT") loadArticles(); });
  $("#new-article").addEventListener("click", function () { openArticle(null); });

  // -- opening and closing -----------------------------------------------------------------
  async function openArticle(id) {
    if (!(await leaveEdits())) return;
    if (id === null) { showEditor(null); return; }
    try { showEditor(await A.api("GET", "/api/kb/articles/" + id)); }
    catch (e) { A.error(e.message); }
  }
  A.openArticle = openArticle;

  /* True when the editor may be left: no unsaved edits, or the admin chose to drop them. */
  async function leaveEdits() {
    if (!S.dirty) return true;
    return A.confirm("Leave without saving?", "Your edits to this article are not saved yet. Leaving drops them.", "Drop edits", true);
  }
  A.leaveEdits = leaveEdits;

  $("#close-editor").addEventListener("click", async function () {
    if (!(await leaveEdits())) return;
    S.current = null; S.dirty = false;
    $("#editor").hidden = true; $("#articles").classList.remove("articles--open");
    markOpenRow(); $("#new-article").classList.add("primary");
    history.replaceState(null, "", "#articles");
  });

  function markOpenRow() {
    A.$$("#article-rows tr").forEach(function (tr) {
      var open = S.current && String(S.current.id) === tr.dataset.id;
      tr.classList.toggle("is-open", !!open);
      var b = tr.querySelector("button.linklike"); if (b) { if (open) b.setAttribute("aria-current", "true"); else b.removeAttribute("aria-current"); }
    });
  }

  /* What the editor shows: the draft when there is one, else the article as it is. */
  function editable(a) {
    var src = a && a.draft ? a.draft : a, out = {};
    FIELDS.forEach(function (k) { out[k] = src ? src[k] : (k === "locale" ? "en" : k === "tags" || k === "questions" ? [] : ""); });
    return out;
  }
  A.content = function (a) { var out = {}; FIELDS.forEach(function (k) { out[k] = a[k]; }); return out; };

  function showEditor(a, again) {
    S.current = a; S.loaded = editable(a); S.dirty = false; S.slugTouched = !!a;
    if (a) { S.byId[a.id] = a; history.replaceState(null, "", "#articles/" + a.id); }
    $("#editor").hidden = false; $("#articles").classList.add("articles--open");
    $("#new-article").classList.remove("primary"); // the editor's Publish is the view's primary action
    $("#editor-title").textContent = a ? a.title : "New article";
    var c = S.loaded;
    form.title.value = c.title; form.slug.value = c.slug; form.answer.value = c.answer;
    form.questions.value = c.questions.join("\n"); form.tags.value = c.tags.join(", ");
    form.url.value = c.url || ""; form.locale.value = c.locale || "en";
    $("#slug-error").textContent = ""; form.slug.removeAttribute("aria-invalid");
    $("#draft-diff").replaceChildren();
    markOpenRow(); renderState(); countQuestions();
    if (A.loadVersions) A.loadVersions(a);
    if (!again) form.title.focus();
  }
  A.showEditor = showEditor;

  function formFields() {
    return {
      title: form.title.value.trim(), slug: form.slug.value.trim(), answer: form.answer.value,
      url: form.url.value.trim() || null, locale: form.locale.value.trim() || "en",
      questions: form.questions.value.split("\n").map(function (s) { return s.trim(); }).filter(Boolean),
      tags: form.tags.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean),
    };
  }
  A.formFields = formFields;

  function same(a, b) {
    return FIELDS.every(function (k) {
      var x = a[k] == null ? "" : a[k], y = b[k] == null ? "" : b[k];
      return JSON.stringify(k === "answer" ? String(x).trim() : x) === JSON.stringify(k === "answer" ? String(y).trim() : y);
    });
  }

  // -- the state the editor shows: live, draft, unsaved ------------------------------------
  function renderState() {
    var a = S.current, live = a && a.status === "published", draft = a && a.draft;
    var status = $("#editor-status");
    status.textContent = a ? STATUS[a.status] : "New";
    status.className = "chip chip--" + (a ? a.status : "draft");
    $("#editor-draft-chip").hidden = !draft;
    var banner = $("#editor-banner"), kind, parts;
    if (!a) { kind = "new"; parts = ["Not live yet. Save a draft to keep working on it, or publish it: the bot answers with it from the next message."]; }
    else if (draft) {
      kind = "draft";
      parts = [el("strong", { text: live ? "You are editing a draft. " : "Unpublished changes. " }),
        live ? "The bot still answers with the published version until you publish these changes. " : "",
        "Draft saved ", A.when(draft.saved_at), " by " + (draft.saved_by_name || draft.saved_by) + ". ",
        draft.changed.length ? "Changes: " + draft.changed.join(", ") + ". " : "",
        draft.live_changed.length ? "The live version changed since this draft was started (" + draft.live_changed.join(", ") + "); publishing keeps those changes. " : "",
        el("button", { type: "button", class: "linklike", id: "compare-live", "aria-expanded": "false", text: "Compare with the live version", onclick: toggleDraftDiff })];
    } else if (live) { kind = "live"; parts = [el("strong", { text: "Live. " }), "The bot answers with this version. Edits are saved as a draft and go live when you publish them."]; }
    else if (a.status === "archived") { kind = "off"; parts = [el("strong", { text: "Archived. " }), "Not used by the bot. Publish it to bring it back."]; }
    else { kind = "off"; parts = [el("strong", { text: "Draft. " }), "Not used by the bot until you publish it."]; }
    banner.className = "banner banner--" + kind;
    banner.replaceChildren.apply(banner, parts);
    updateActions();
  }

  function updateActions() {
    var a = S.current, draft = a && a.draft, live = a && a.status === "published";
    var publish = $("#publish"), save = $("#save-draft");
    publish.textContent = live ? "Publish changes" : "Publish";
    publish.disabled = !!(a && live && !draft && !S.dirty);
    save.disabled = !!(a && !S.dirty);
    save.textContent = a && !live && !draft ? "Save" : "Save draft";
    $("#discard-draft").hidden = !draft;
    $("#unpublish").hidden = !a || a.status !== "published";
    $("#archive").hidden = !a || a.status === "archived";
    $("#delete-article").hidden = !a;
    $("#save-state").textContent = S.dirty ? "Unsaved changes" : draft ? "Draft saved" : a ? "No changes" : "";
  }

  async function toggleDraftDiff(ev) {
    var box = $("#draft-diff"), button = ev.currentTarget;
    if (box.childElementCount) { box.replaceChildren(); button.setAttribute("aria-expanded", "false"); return; }
    box.replaceChildren(el("h3", { class: "small", text: "Live version \u2192 draft" }),
      A.diffTable(A.content(S.current), A.content(S.current.draft)));
    button.setAttribute("aria-expanded", "true");
  }

  form.addEventListener("input", function (ev) {
    if (ev.target === form.slug) S.slugTouched = true;
    if (ev.target === form.title && !S.current && !S.slugTouched) form.slug.value = A.slugify(form.title.value);
    if (ev.target === form.slug || ev.target === form.title) checkSlug(false);
    if (ev.target === form.questions) countQuestions();
    S.dirty = !same(formFields(), S.loaded);
    updateActions();
  });
  form.slug.addEventListener("blur", function () { checkSlug(true); });

  /* The same rule as the server, said the same way: invalid is not "required". */
  function checkSlug(strict) {
    var slug = form.slug.value.trim(), msg = "";
    if (!slug) msg = strict ? "Required: lowercase letters and digits in words joined by single dashes, e.g. reset-password." : "";
    else if (!A.SLUG.test(slug)) msg = "\u201c" + slug + "\u201d is not a valid slug: use lowercase letters and digits in words joined by single dashes, e.g. " + (A.slugify(slug) || "reset-password") + ".";
    $("#slug-error").textContent = msg;
    if (msg) form.slug.setAttribute("aria-invalid", "true"); else form.slug.removeAttribute("aria-invalid");
    return !msg;
  }
  function countQuestions() {
    var n = formFields().questions.length;
    $("#questions-count").textContent = "(one per line; " + A.plural(n, "question") + ")";
  }

  // -- saving, publishing, status ----------------------------------------------------------
  function valid() {
    var f = formFields(), missing = [];
    if (!f.title) missing.push("a title");
    if (!f.answer.trim()) missing.push("an answer");
    if (!checkSlug(true)) { form.slug.focus(); return false; }
    if (missing.length) { A.error("The article needs " + missing.join(" and ") + "."); (f.title ? form.answer : form.title).focus(); return false; }
    return true;
  }

  /* Save the form: a new article is created as a draft; a live one (or one with a draft)
     gets its draft saved; any other is changed directly. Returns the article. */
  async function save() {
    var a = S.current, body = formFields();
    if (!a) return A.api("POST", "/api/kb/articles", Object.assign(body, { status: "draft" }));
    if (a.status === "published" || a.draft) return A.api("PUT", "/api/kb/articles/" + a.id + "/draft", body);
    return A.api("PATCH", "/api/kb/articles/" + a.id, body);
  }
  async function afterWrite(a, message) {
    showEditor(a, true); loadArticles();
    A.toast(message);
  }
  async function busy(button, fn) {
    button.disabled = true; button.setAttribute("aria-busy", "true");
    try { await fn(); } catch (e) { A.error(e.message); } finally { button.removeAttribute("aria-busy"); updateActions(); }
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (!valid()) return;
    busy($("#save-draft"), async function () {
      var a = await save();
      var live = a.status === "published";
      await afterWrite(a, live ? (a.draft ? "Draft saved. The bot still answers with the published version." : "No changes left: the draft matches the live version.")
        : "Saved \u201c" + a.title + "\u201d (" + a.status + ").");
    });
  });
  document.addEventListener("keydown", function (ev) {
    if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === "s" && !$("#editor").hidden && !$("[data-panel=articles]").hidden) {
      ev.preventDefault(); if (!$("#save-draft").disabled) form.requestSubmit();
    }
  });

  $("#publish").addEventListener("click", function () {
    if (!valid()) return;
    busy($("#publish"), async function () {
      var a = S.current;
      if (!a || S.dirty) a = await save();
      a = await A.api("POST", "/api/kb/articles/" + a.id + "/publish");
      await afterWrite(a, "Published \u201c" + a.title + "\u201d: the bot answers with it from the next message.");
    });
  });

  $("#discard-draft").addEventListener("click", async function () {
    var a = S.current;
    if (!(await A.confirm("Discard the draft?", "The changes saved in the draft of \u201c" + a.title + "\u201d are lost. The live version stays as it is.", "Discard draft", true))) return;
    busy($("#discard-draft"), async function () {
      await afterWrite(await A.api("DELETE", "/api/kb/articles/" + a.id + "/draft"), "Draft discarded: the article is as it is live.");
    });
  });

  form.addEventListener("click", function (ev) {
    var b = ev.target.closest("button[data-status]"); if (!b || !S.current) return;
    busy(b, async function () {
      if (S.dirty) { if (!valid()) return; await save(); }
      var a = await A.api("PATCH", "/api/kb/articles/" + S.current.id, { status: b.dataset.status });
      await afterWrite(a, "\u201c" + a.title + "\u201d is now " + a.status + ": the bot no longer uses it.");
    });
  });

  $("#delete-article").addEventListener("click", async function () {
    var a = S.current;
    if (!(await A.confirm("Delete \u201c" + a.title + "\u201d?", "The article leaves the bot's answers at once. Its history is kept, but the article cannot be restored from here.", "Delete article", true))) return;
    try {
      await A.api("DELETE", "/api/kb/articles/" + a.id);
      delete S.byId[a.id]; S.dirty = false; $("#close-editor").click();
      loadArticles(); A.toast("Deleted \u201c" + a.title + "\u201d.");
    } catch (e) { A.error(e.message); }
  });

  /* Put a version's content into the form: into the draft of a live article, else directly. */
  A.restore = async function (state, label) {
    var a = S.current, body = {};
    FIELDS.forEach(function (k) { if (k in state) body[k] = state[k]; });
    try {
      var out = a.status === "published" || a.draft
        ? await A.api("PUT", "/api/kb/articles/" + a.id + "/draft", body)
        : await A.api("PATCH", "/api/kb/articles/" + a.id, body);
      await afterWrite(out, out.status === "published"
        ? (out.draft ? label + " restored into the draft: publish it to make it live." : label + " is the live version already.")
        : label + " restored.");
    } catch (e) { A.error(e.message); }
  };
})();
