/* tier1 admin console: log in, the sections (tabs) and the address bar (#articles/12 opens an
   article). Plain JS, no build step; the sections live in admin-*.js, the shared helpers in
   admin-core.js. Talks to /api/kb, /api/admin and /api/agents.
   Vendored libraries (tier1/admin/web/vendor): Chart.js (window.Chart), jsdiff (window.Diff). */
(function () {
  "use strict";
  var A = window.Admin, $ = A.$;
  var loaders = { inbox: A.loadInbox, articles: A.loadArticles, analytics: A.loadAnalytics, users: A.loadUsers };

  $("#login-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var button = ev.target.querySelector("button"); button.disabled = true;
    try {
      var r = await fetch("/api/auth/token", { method: "POST", body: new URLSearchParams(new FormData(ev.target)) });
      var data = await r.json().catch(function () { return {}; });
      if (!r.ok) { $("#login-error").textContent = data.detail || "Login failed"; return; }
      A.token = data.access_token;
      await start();
    } catch (e) { $("#login-error").textContent = "The server cannot be reached: " + e.message; }
    finally { button.disabled = false; }
  });

  A.logout = function () {
    sessionStorage.removeItem("tier1.admin.token"); A.token = null;
    $("#app").hidden = true; $("#login").hidden = false;
  };
  $("#logout").addEventListener("click", A.logout);

  async function start() {
    try {
      var me = await A.api("GET", "/api/agents/me");
      if (me.role !== "admin") { $("#login-error").textContent = "This console is for admins; agents use /console."; A.token = null; return; }
      sessionStorage.setItem("tier1.admin.token", A.token);
      A.me = me;
      $("#me").textContent = me.display_name || me.email; $("#me").title = me.email || "";
      $("#login").hidden = true; $("#app").hidden = false; $("#login-error").textContent = "";
      await route();
    } catch (e) { $("#login-error").textContent = e.message; }
  }

  /* Show a section; its loader fetches fresh data. */
  A.showTab = function (name, skipLoad) {
    A.$$("#tabs button").forEach(function (x) {
      if (x.dataset.tab === name) x.setAttribute("aria-current", "page"); else x.removeAttribute("aria-current");
    });
    A.$$("[data-panel]").forEach(function (p) { p.hidden = p.dataset.panel !== name; });
    if (!(name === "articles" && location.hash.indexOf("#articles/") === 0)) history.replaceState(null, "", "#" + name);
    if (!skipLoad && loaders[name]) loaders[name]();
  };

  $("#tabs").addEventListener("click", async function (ev) {
    var b = ev.target.closest("button[data-tab]"); if (!b) return;
    if (b.dataset.tab !== "articles" && !(await A.leaveEdits())) return;
    A.clearMessages();
    A.showTab(b.dataset.tab);
  });

  /* #inbox, #articles, #articles/12, #import, #analytics, #users, #test */
  async function route() {
    var hash = location.hash.slice(1), parts = hash.split("/");
    var tab = loaders[parts[0]] || parts[0] === "test" || parts[0] === "import" ? parts[0] : "inbox";
    A.showTab(tab);
    if (tab !== "inbox") A.loadInbox(); // the tab's count
    if (tab === "articles" && /^\d+$/.test(parts[1] || "")) A.openArticle(Number(parts[1]));
  }

  window.addEventListener("beforeunload", function (ev) {
    if (A.articles && A.articles.dirty) { ev.preventDefault(); ev.returnValue = ""; }
  });

  if (A.token) start();
})();
