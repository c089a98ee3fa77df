/* tier1 admin console: plain JS, no build step. Talks to /api/kb, /api/admin and /api/agents. */
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
      $("#me").textContent = me.display_name || me.email;
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
  async function loadRevisions() {
    var list = $("#revisions"); list.textContent = "";
    if (!current) return;
    var revs = await api("GET", "/api/kb/articles/" + current.id + "/revisions");
    revs.forEach(function (r) {
      var item = el("li", {}, [el("strong", { text: r.action }), " " + new Date(r.at).toLocaleString() + " by " + r.actor +
        (r.changed.length ? " \u2014 " + r.changed.join(", ") : "")]);
      if (r.previous) {
        var diff = el("div", { class: "diff" });
        r.changed.forEach(function (k) {
          if (!(k in r.previous)) return;
          diff.append(el("div", {}, [k + ": ", el("del", { text: JSON.stringify(r.previous[k]) })]));
        });
        item.append(diff, el("button", { text: "Roll back to before this change", onclick: async function () {
          var p = r.previous, body = {};
          ["slug", "title", "answer", "url", "tags", "locale", "status", "questions"].forEach(function (k) { if (k in p) body[k] = p[k]; });
          try { showEditor(await api("PATCH", "/api/kb/articles/" + current.id, body)); flash("Rolled back."); loadArticles(); }
          catch (e) { flash(e.message, true); }
        } }));
      }
      list.append(item);
    });
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
  $("#import-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var out = $("#import-result"); out.textContent = "";
    try {
      var r = await api("POST", "/api/kb/import", new FormData(ev.target));
      out.append(el("p", { text: "Imported: " + r.created + " created, " + r.updated + " updated, " + r.unchanged + " unchanged." }));
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
      $("#chart-daily").replaceChildren(bars(r.daily.map(function (d) { return [d.day.slice(5), d.conversations, d.handed_off]; })));
      $("#chart-reasons").replaceChildren(bars(Object.keys(r.handoffs_by_reason).map(function (k) { return [k.replace(/_/g, " "), r.handoffs_by_reason[k], 0]; })));
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
  // A plain SVG bar chart: [label, total, highlighted part].
  function bars(data) {
    var NS = "http://www.w3.org/2000/svg", w = 520, h = 180, pad = 24;
    var svg = document.createElementNS(NS, "svg"); svg.setAttribute("viewBox", "0 0 " + w + " " + (h + pad)); svg.setAttribute("width", "100%");
    var max = Math.max.apply(null, [1].concat(data.map(function (d) { return d[1]; })));
    var bw = data.length ? (w - pad) / data.length : 0;
    data.forEach(function (d, i) {
      function rect(v, color) {
        var r = document.createElementNS(NS, "rect"), bh = (h - pad) * v / max;
        r.setAttribute("x", pad + i * bw + 4); r.setAttribute("width", Math.max(bw - 8, 2));
        r.setAttribute("y", h - bh); r.setAttribute("height", bh); r.setAttribute("fill", color); svg.append(r);
      }
      rect(d[1], "#9fb2fb"); if (d[2]) rect(d[2], "#4a6cf7");
      var t = document.createElementNS(NS, "text"); t.setAttribute("x", pad + i * bw + bw / 2); t.setAttribute("y", h + 16);
      t.setAttribute("text-anchor", "middle"); t.setAttribute("font-size", "11"); t.textContent = d[0] + " (" + d[1] + ")"; svg.append(t);
    });
    return svg;
  }
  $("#range").addEventListener("submit", function (ev) { ev.preventDefault(); loadAnalytics(); });
  $("#csv").addEventListener("click", function () { download("/api/admin/analytics.csv?" + rangeQuery(), "tier1-analytics.csv"); });

  // -- users -------------------------------------------------------------------------------
  async function loadUsers() {
    var agents = await api("GET", "/api/agents"), rows = $("#users"); rows.textContent = "";
    agents.forEach(function (a) {
      var cap = el("input", { type: "number", min: "1", max: "100", value: a.capacity || "", style: "width:5em" });
      var role = el("select", {}, ["agent", "admin"].map(function (r) { var o = el("option", { text: r }); o.selected = r === a.role; return o; }));
      rows.append(el("tr", {}, [el("td", { text: a.display_name }), el("td", { text: a.email || "" }), el("td", {}, [role]), el("td", {}, [cap]),
        el("td", {}, [el("button", { text: "Save", onclick: async function () {
          try { await api("PATCH", "/api/agents/" + a.id, { capacity: cap.value ? Number(cap.value) : null, role: role.value }); flash("Saved " + a.display_name + "."); }
          catch (e) { flash(e.message, true); }
        } })])]));
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
