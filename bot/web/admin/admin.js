/* tier1 admin console: plain JS, no build step. Talks to /api/kb, /api/admin and /api/agents.
   Vendored libraries (bot/web/admin/vendor): Chart.js (window.Chart), jsdiff (window.Diff). */
(function () {
  "use strict";
  var token = sessionStorage.getItem("tier1.admin.token");
  var articlesById = {};
  var current = null; // the article in the editor

  function $(sel, root) { return (root || document).querySelector(sel); }
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "class") e.className = attrs[k];
      else if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), attrs[k]);
      else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c != null) e.append(c); });
    return e;
  }
  function flash(text, isError) {
    var f = $("#flash"); f.textContent = text; f.className = "flash" + (isError ? " flash--error" : "");
  }

  async function api(method, url, body, raw) {
    var opts = { method: method, headers: { Authorization: "Bearer " + token } };
    if (body instanceof FormData) opts.body = body;
    else if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
    var r = await fetch(url, opts);
    if (r.status === 401) { logout(); throw new Error("Your session expired: log in again."); }
    if (raw) { if (!r.ok) throw new Error(await r.text()); return r; }
    var data = r.status === 204 ? null : await r.json().catch(function () { return null; });
    if (!r.ok) {
      var detail = data && data.detail;
      if (Array.isArray(detail)) detail = detail.map(function (d) { return d.loc.join(".") + ": " + d.msg; }).join("\n");
      throw new Error(detail || r.statusText);
    }
    return data;
  }

  // -- login -------------------------------------------------------------------------------
  $("#login-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var r = await fetch("/api/auth/token", { method: "POST", body: new URLSearchParams(new FormData(ev.target)) });
    var data = await r.json().catch(function () { return {}; });
    if (!r.ok) { $("#login-error").textContent = data.detail || "Login failed"; return; }
    token = data.access_token;
    start();
  });
  function logout() { sessionStorage.removeItem("tier1.admin.token"); token = null; $("#app").hidden = true; $("#login").hidden = false; }
  $("#logout").addEventListener("click", logout);

  async function start() {
    try {
      var me = await api("GET", "/api/agents/me");
      if (me.role !== "admin") { $("#login-error").textContent = "This console is for admins; agents use /console."; token = null; return; }
      sessionStorage.setItem("tier1.admin.token", token);
      $("#me").textContent = me.display_name || me.email; meId = me.id;
      $("#login").hidden = true; $("#app").hidden = false;
      await loadArticles(); loadInbox();
    } catch (e) { $("#login-error").textContent = e.message; }
  }

  // -- tabs --------------------------------------------------------------------------------
  var loaders = { inbox: loadInbox, articles: loadArticles, analytics: loadAnalytics, users: loadUsers };
  $("#tabs").addEventListener("click", function (ev) {
    var b = ev.target.closest("button[data-tab]"); if (!b) return;
    document.querySelectorAll("#tabs button").forEach(function (x) { x.classList.toggle("tab--active", x === b); });
    document.querySelectorAll("[data-panel]").forEach(function (p) { p.hidden = p.dataset.panel !== b.dataset.tab; });
    flash("");
    if (loaders[b.dataset.tab]) loaders[b.dataset.tab]();
  });

  // -- articles ----------------------------------------------------------------------------
  async function loadArticles() {
    var f = new FormData($("#article-filter")); var q = new URLSearchParams({ limit: "500" });
    ["q", "status", "tag"].forEach(function (k) { if (f.get(k)) q.set(k, f.get(k)); });
    var page = await api("GET", "/api/kb/articles?" + q);
    var rows = $("#article-rows"); rows.textContent = "";
    page.items.forEach(function (a) {
      articlesById[a.id] = a;
      rows.append(el("tr", { "data-id": a.id, onclick: function () { openArticle(a.id); } }, [
        el("td", { text: a.title }), el("td", { text: a.slug }),
        el("td", {}, [el("span", { class: "status status--" + a.status, text: a.status })]),
        el("td", { text: String(a.questions.length) })]));
    });
  }
  $("#article-filter").addEventListener("submit", function (ev) { ev.preventDefault(); loadArticles(); });
  $("#new-article").addEventListener("click", function () { showEditor(null); });

  async function openArticle(id) { showEditor(await api("GET", "/api/kb/articles/" + id)); }
  function showEditor(a) {
    current = a; var form = $("#article-form");
    $("#editor").hidden = false;
    $("#editor-title").textContent = a ? "Edit: " + a.title : "New article";
    form.title.value = a ? a.title : ""; form.slug.value = a ? a.slug : ""; form.answer.value = a ? a.answer : "";
    form.questions.value = a ? a.questions.join("\n") : ""; form.tags.value = a ? a.tags.join(", ") : "";
    form.url.value = a && a.url ? a.url : "";
    $("#editor-status").textContent = a ? a.status : "draft (until published)";
    form.querySelectorAll("button[data-status]").forEach(function (b) { b.disabled = !a; });
    loadRevisions();
  }
  function formFields() {
    var f = $("#article-form");
    return {
      title: f.title.value, slug: f.slug.value, answer: f.answer.value, url: f.url.value || null,
      questions: f.questions.value.split("\n").map(function (s) { return s.trim(); }).filter(Boolean),
      tags: f.tags.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean),
    };
  }
  $("#article-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    try {
      var body = formFields();
      var a = current ? await api("PATCH", "/api/kb/articles/" + current.id, body)
                      : await api("POST", "/api/kb/articles", Object.assign(body, { status: "draft" }));
      flash("Saved \u201c" + a.title + "\u201d (" + a.status + ")."); showEditor(a); loadArticles();
    } catch (e) { flash(e.message, true); }
  });
  $("#article-form").addEventListener("click", async function (ev) {
    var b = ev.target.closest("button[data-status]"); if (!b || !current) return;
    try {
      var a = await api("PATCH", "/api/kb/articles/" + current.id, Object.assign(formFields(), { status: b.dataset.status }));
      flash("\u201c" + a.title + "\u201d is now " + a.status + ": the bot uses it from the next message.");
      showEditor(a); loadArticles();
    } catch (e) { flash(e.message, true); }
  });
  // Revisions: each keeps the whole article as it was BEFORE the change (null for "created"),
  // so walking newest -> oldest from the current article rebuilds every version.
  var versions = []; // [{label, state}] oldest first; the last one is the current article
  async function loadRevisions() {
    var list = $("#revisions"); list.textContent = ""; $("#diff-view").textContent = ""; versions = [];
    $("#compare").hidden = true;
    if (!current) return;
    var revs = await api("GET", "/api/kb/articles/" + current.id + "/revisions");
    var after = snapshot(current), afterLabel = "current";
    var steps = revs.map(function (r) {
      var step = { rev: r, before: r.previous, after: after, afterLabel: afterLabel };
      after = r.previous; afterLabel = "before #" + r.id;
      return step;
    });
    versions = steps.slice().reverse().map(function (s) {
      return { label: (s.afterLabel === "current" ? "current" : "after #" + s.rev.id) + " (" + s.rev.action + " " + new Date(s.rev.at).toLocaleString() + ")", state: s.after };
    });
    var form = $("#compare");
    ["from", "to"].forEach(function (name, i) {
      var sel = form.elements[name]; sel.textContent = "";
      versions.forEach(function (v, k) { sel.append(el("option", { value: String(k), text: v.label })); });
      sel.value = String(Math.max(0, versions.length - 2 + i));
    });
    form.hidden = versions.length < 2;
    steps.forEach(function (s) {
      var r = s.rev, view = el("div", { class: "diff-slot" });
      var item = el("li", { "data-revision": r.id }, [el("strong", { text: r.action }), " " + new Date(r.at).toLocaleString() + " by " + r.actor +
        (r.changed.length ? " \u2014 " + r.changed.join(", ") : "") + " ",
        el("button", { type: "button", class: "show-diff", text: "Show changes", onclick: function () {
          if (view.childElementCount) view.replaceChildren();
          else view.replaceChildren(diffTable(s.before || {}, s.after || {}));
        } })]);
      if (r.previous) {
        item.append(" ", el("button", { type: "button", class: "rollback", text: "Roll back to before this change", onclick: async function () {
          var p = r.previous, body = {};
          ["slug", "title", "answer", "url", "tags", "locale", "status", "questions"].forEach(function (k) { if (k in p) body[k] = p[k]; });
          try { showEditor(await api("PATCH", "/api/kb/articles/" + current.id, body)); flash("Rolled back: the article is as it was before revision #" + r.id + "."); loadArticles(); }
          catch (e) { flash(e.message, true); }
        } }));
      }
      item.append(view);
      list.append(item);
    });
  }
  $("#compare").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var a = versions[Number(ev.target.elements.from.value)], b = versions[Number(ev.target.elements.to.value)];
    $("#diff-view").replaceChildren(diffTable(a.state || {}, b.state || {}));
  });
  function snapshot(a) {
    var s = {}; ["slug", "title", "answer", "url", "tags", "locale", "status", "questions"].forEach(function (k) { s[k] = a[k]; }); return s;
  }
  // Side by side: removed words struck out on the left, added words marked on the right (jsdiff).
  var DIFF_FIELDS = ["title", "answer", "questions", "tags", "status", "slug", "url", "locale"];
  function diffTable(before, after) {
    var body = el("tbody");
    DIFF_FIELDS.forEach(function (k) {
      var a = before[k], b = after[k];
      if (JSON.stringify(a == null ? null : a) === JSON.stringify(b == null ? null : b)) return;
      var parts = Array.isArray(a) || Array.isArray(b)
        ? Diff.diffArrays(a || [], b || []).map(function (p) { return { added: p.added, removed: p.removed, value: p.value.join("\n") + "\n" }; })
        : Diff.diffWordsWithSpace(a == null ? "" : String(a), b == null ? "" : String(b));
      var left = el("td", { class: "diff__old" }), right = el("td", { class: "diff__new" });
      parts.forEach(function (p) {
        if (!p.added) left.append(p.removed ? el("del", { text: p.value }) : document.createTextNode(p.value));
        if (!p.removed) right.append(p.added ? el("ins", { text: p.value }) : document.createTextNode(p.value));
      });
      body.append(el("tr", { "data-field": k }, [el("th", { text: k }), left, right]));
    });
    if (!body.childNodes.length) return el("p", { class: "hint", text: "No differences." });
    return el("table", { class: "table diff" }, [el("thead", {}, [el("tr", {}, [el("th", { text: "field" }), el("th", { text: "before" }), el("th", { text: "after" })])]), body]);
  }

  // -- test a question ---------------------------------------------------------------------
  $("#test-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var out = $("#test-result"); out.textContent = "";
    try {
      var r = await api("POST", "/api/kb/search", { text: ev.target.text.value });
      var by = r.decided_by || {};
      out.append(el("p", {}, ["Decision: ", el("span", { class: "decision decision--" + r.decision, text: r.decision }),
        " \u2014 rule " + (by.rule || "?") + ", threshold " + by.threshold + (by.score != null ? ", best score " + by.score.toFixed(3) : "")]));
      var body = el("tbody");
      r.hits.forEach(function (h) {
        body.append(el("tr", {}, [el("td", { text: h.title }), el("td", { text: h.score.toFixed(3) }), el("td", { text: h.matched_question })]));
      });
      out.append(el("table", { class: "table" }, [el("thead", {}, [el("tr", {}, [el("th", { text: "Article" }), el("th", { text: "Score" }), el("th", { text: "Matched question" })])]), body]));
    } catch (e) { flash(e.message, true); }
  });

  // -- import / export ---------------------------------------------------------------------
  // Choosing a file previews it (POST /api/kb/import/preview writes nothing); the confirm
  // button imports the same file and stays disabled while the preview lists any error.
  var previewed = null;
  async function previewImport() {
    var form = $("#import-form"), out = $("#import-preview"), confirm = $("#import-confirm");
    out.textContent = ""; $("#import-result").textContent = ""; previewed = null;
    confirm.disabled = true; confirm.textContent = "Import";
    var file = form.file.files[0]; if (!file) return;
    try {
      var fd = new FormData(); fd.append("file", file);
      var p = await api("POST", "/api/kb/import/preview", fd);
      var n = p.create + p.update + p.unchanged;
      out.append(el("p", { class: p.importable ? "" : "error", text: p.importable
        ? "Ready: " + p.create + " to create, " + p.update + " to update, " + p.unchanged + " unchanged. Nothing is written until you import."
        : p.errors + " problem(s): nothing can be imported until they are fixed. Nothing was written." }));
      p.file_errors.forEach(function (e) { out.append(el("p", { class: "error", text: e.text })); });
      var body = el("tbody");
      p.rows.forEach(function (r) {
        body.append(el("tr", { class: "preview preview--" + r.action, "data-action": r.action }, [
          el("td", { text: r.row == null ? "" : String(r.row) }), el("td", { text: r.line == null ? "" : String(r.line) }),
          el("td", { text: r.slug || "" }), el("td", { text: r.title || "" }), el("td", { text: r.action }),
          el("td", { class: "error" }, [el("ul", {}, r.errors.map(function (e) {
            return el("li", { text: (e.line != null ? "line " + e.line + ", " : "") + (e.field ? e.field + ": " : "") + e.message });
          }))])]));
      });
      if (p.rows.length) out.append(el("table", { class: "table", id: "preview-table" }, [el("thead", {}, [el("tr", {},
        ["Row", "Line", "Slug", "Title", "Action", "Problems"].map(function (h) { return el("th", { text: h }); }))]), body]));
      confirm.textContent = "Import " + n + " article" + (n === 1 ? "" : "s");
      confirm.disabled = !p.importable || n === 0;
      previewed = p.importable ? file : null;
    } catch (e) { out.append(el("p", { class: "error", text: e.message })); }
  }
  $("#import-form").addEventListener("submit", function (ev) { ev.preventDefault(); previewImport(); });
  $("#import-form").file.addEventListener("change", previewImport);
  $("#import-confirm").addEventListener("click", async function () {
    if (!previewed) return;
    var out = $("#import-result"), confirm = $("#import-confirm"); out.textContent = ""; confirm.disabled = true;
    try {
      var fd = new FormData(); fd.append("file", previewed);
      var r = await api("POST", "/api/kb/import", fd);
      out.append(el("p", { class: "ok", text: "Imported: " + r.created + " created, " + r.updated + " updated, " + r.unchanged + " unchanged." }));
      previewed = null; $("#import-preview").textContent = ""; $("#import-form").reset(); confirm.textContent = "Import";
      loadArticles();
    } catch (e) {
      out.append(el("p", { class: "error", text: "Nothing was imported.\n" + e.message }));
    }
  });
  document.querySelectorAll("[data-export]").forEach(function (b) {
    b.addEventListener("click", function () { download("/api/kb/export?format=" + b.dataset.export, "articles." + b.dataset.export); });
  });
  async function download(url, name) {
    try {
      var blob = await (await api("GET", url, undefined, true)).blob();
      var a = el("a", { href: URL.createObjectURL(blob), download: name }); document.body.append(a); a.click(); a.remove();
    } catch (e) { flash(e.message, true); }
  }

  // -- unanswered inbox --------------------------------------------------------------------
  async function loadInbox() {
    var items = await api("GET", "/api/admin/unanswered");
    $("#inbox-count").textContent = String(items.length);
    var box = $("#inbox"); box.textContent = "";
    if (!items.length) box.append(el("p", { class: "hint", text: "Nothing unanswered. The bot answered everything it was asked." }));
    items.forEach(function (it) {
      var select = el("select", { "aria-label": "article" });
      Object.values(articlesById).forEach(function (a) {
        var o = el("option", { value: a.id, text: a.title + (a.id === it.suggested_article_id ? " (suggested)" : "") });
        if (a.id === it.suggested_article_id) o.selected = true;
        select.append(o);
      });
      var kinds = Object.keys(it.kinds).map(function (k) { return k.replace(/_/g, " ") + " \u00d7" + it.kinds[k]; }).join(", ");
      var card = el("div", { class: "card", "data-item": it.id }, [
        el("div", { class: "card__head" }, [el("span", { class: "card__count", text: String(it.count) }),
          el("strong", { text: it.examples[0] }), el("span", { class: "kinds", text: kinds })]),
        el("ul", {}, it.examples.map(function (x) { return el("li", { text: x }); })),
        it.draft_answer ? el("p", { class: "hint", text: "Agent's reply: " + it.draft_answer }) : null,
        el("div", { class: "row" }, [select,
          el("button", { class: "attach", text: "Attach to article", onclick: async function () {
            try {
              var r = await api("POST", "/api/admin/unanswered/" + it.id + "/attach", { article_id: Number(select.value) });
              flash("Added " + r.added.length + " phrasing(s) to \u201c" + r.article.title + "\u201d: the bot answers them now.");
              loadArticles(); loadInbox();
            } catch (e) { flash(e.message, true); }
          } }),
          el("button", { text: "Draft new article", onclick: async function () {
            var title = prompt("Title of the new article", it.examples[0]); if (!title) return;
            var answer = prompt("Answer", it.draft_answer || ""); if (!answer) return;
            var slug = title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 80);
            try {
              var r = await api("POST", "/api/admin/unanswered/" + it.id + "/draft", { slug: slug, title: title, answer: answer });
              flash("Drafted \u201c" + r.article.title + "\u201d: review and publish it under Articles."); loadArticles(); loadInbox();
            } catch (e) { flash(e.message, true); }
          } }),
          el("button", { class: "dismiss", text: "Dismiss", onclick: async function () {
            try { await api("POST", "/api/admin/unanswered/" + it.id + "/dismiss"); flash("Dismissed."); loadInbox(); }
            catch (e) { flash(e.message, true); }
          } })]),
      ]);
      box.append(card);
    });
  }

  // -- analytics ---------------------------------------------------------------------------
  function pct(x) { return x == null ? "\u2014" : (100 * x).toFixed(1) + "%"; }
  function rangeQuery() {
    var f = new FormData($("#range")), q = new URLSearchParams();
    ["start", "end"].forEach(function (k) { if (f.get(k)) q.set(k, f.get(k)); });
    return q.toString();
  }
  async function loadAnalytics() {
    try {
      var r = await api("GET", "/api/admin/analytics?" + rangeQuery());
      var figs = [["Conversations", r.conversations], ["Automated resolution", pct(r.automated_resolution_rate)],
        ["Handoff rate", pct(r.handoff_rate)], ["CSAT (mean of " + r.csat_count + ")", r.csat_mean == null ? "\u2014" : r.csat_mean.toFixed(2)],
        ["Satisfied (4\u20135)", pct(r.csat_satisfied_rate)],
        ["Median first reply", r.median_first_reply_seconds == null ? "\u2014" : Math.round(r.median_first_reply_seconds) + " s"]];
      var box = $("#figures"); box.textContent = "";
      figs.forEach(function (f) {
        box.append(el("div", { class: "figure", "data-figure": f[0] }, [el("div", { class: "figure__value", text: String(f[1]) }), el("div", { class: "figure__label", text: f[0] })]));
      });
      barChart("chart-daily", r.daily.map(function (d) { return d.day.slice(5); }), [
        { label: "answered by the bot", data: r.daily.map(function (d) { return d.conversations - d.handed_off; }), backgroundColor: "#9fb2fb" },
        { label: "handed off", data: r.daily.map(function (d) { return d.handed_off; }), backgroundColor: "#4a6cf7" }], true);
      var reasons = Object.keys(r.handoffs_by_reason);
      barChart("chart-reasons", reasons.map(function (k) { return k.replace(/_/g, " "); }), [
        { label: "handoffs", data: reasons.map(function (k) { return r.handoffs_by_reason[k]; }), backgroundColor: "#4a6cf7" }], false);
      var ta = $("#top-articles"); ta.textContent = "";
      r.top_articles.forEach(function (a) {
        ta.append(el("tr", {}, [el("td", { text: a.title || "#" + a.article_id }), el("td", { text: String(a.answers) }), el("td", { text: String(a.helpful) }), el("td", { text: String(a.not_helpful) })]));
      });
      var al = $("#agent-load"); al.textContent = "";
      r.agents.forEach(function (a) {
        al.append(el("tr", {}, [el("td", { text: a.display_name }), el("td", { text: String(a.conversations) }), el("td", { text: String(a.messages) }), el("td", { text: String(a.resolved) }), el("td", { text: a.csat_mean == null ? "\u2014" : a.csat_mean.toFixed(2) })]));
      });
    } catch (e) { flash(e.message, true); }
  }
  // Charts: Chart.js (vendored UMD build, no CDN). One instance per canvas, replaced on reload.
  var charts = {};
  function barChart(id, labels, datasets, stacked) {
    if (charts[id]) charts[id].destroy();
    charts[id] = new Chart(document.getElementById(id), {
      type: "bar",
      data: { labels: labels, datasets: datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { display: datasets.length > 1 } },
        scales: { x: { stacked: stacked }, y: { stacked: stacked, beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
    return charts[id];
  }
  $("#range").addEventListener("submit", function (ev) { ev.preventDefault(); loadAnalytics(); });
  $("#csv").addEventListener("click", function () { download("/api/admin/analytics.csv?" + rangeQuery(), "tier1-analytics.csv"); });

  // -- users -------------------------------------------------------------------------------
  var meId = null;
  async function loadUsers() {
    var agents = await api("GET", "/api/agents?include_deactivated=true"), rows = $("#users"); rows.textContent = "";
    agents.forEach(function (a) {
      var cap = el("input", { type: "number", min: "1", max: "100", value: a.capacity || "", style: "width:5em", "aria-label": "capacity" });
      var role = el("select", { "aria-label": "role" }, ["agent", "admin"].map(function (r) { var o = el("option", { text: r }); o.selected = r === a.role; return o; }));
      async function act(fn) { try { await fn(); } catch (e) { flash(e.message, true); } }
      var buttons = [el("button", { text: "Save", onclick: function () { act(async function () {
        await api("PATCH", "/api/agents/" + a.id, { capacity: cap.value ? Number(cap.value) : null, role: role.value }); flash("Saved " + a.display_name + ".");
      }); } })];
      if (a.deactivated) {
        buttons.push(el("button", { class: "reactivate", text: "Reactivate", onclick: function () { act(async function () {
          await api("POST", "/api/agents/" + a.id + "/reactivate"); flash(a.display_name + " can log in again."); loadUsers();
        }); } }));
      } else if (a.id !== meId) {
        buttons.push(el("button", { class: "deactivate", text: "Deactivate", onclick: function () { act(async function () {
          if (!confirm("Deactivate " + a.display_name + "? They are logged out and their open chats go back to the queue.")) return;
          var r = await api("POST", "/api/agents/" + a.id + "/deactivate");
          flash(a.display_name + " is deactivated; " + r.requeued.length + " chat(s) went back to the queue."); loadUsers();
        }); } }));
      }
      buttons.push(el("button", { class: "reset-password", text: "Reset password", onclick: function () { act(async function () {
        var chosen = prompt("New password for " + a.display_name + " (8+ characters), or leave empty to generate one:", "");
        if (chosen === null) return;
        var r = await api("POST", "/api/agents/" + a.id + "/password", chosen ? { password: chosen } : {});
        var box = $("#new-password");
        box.textContent = r.password ? "New password for " + a.email + ": " + r.password + " \u2014 shown once; pass it on now." : "Password of " + a.email + " changed.";
        box.hidden = false; flash("Password reset: " + a.display_name + "'s sessions ended.");
      }); } }));
      rows.append(el("tr", { "data-agent": a.email || String(a.id), class: a.deactivated ? "user--off" : "" }, [
        el("td", { text: a.display_name }), el("td", { text: a.email || "" }), el("td", {}, [role]), el("td", {}, [cap]),
        el("td", { class: "user-status", text: a.deactivated ? "deactivated" : a.presence }), el("td", {}, buttons)]));
    });
  }
  $("#user-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var f = new FormData(ev.target), body = { email: f.get("email"), password: f.get("password"), role: f.get("role") };
    if (f.get("display_name")) body.display_name = f.get("display_name");
    if (f.get("capacity")) body.capacity = Number(f.get("capacity"));
    try { await api("POST", "/api/agents", body); flash("Created " + body.email + "."); ev.target.reset(); loadUsers(); }
    catch (e) { flash(e.message, true); }
  });

  if (token) start();
})();
