/* Import / export, and "Test a question".

   Choosing a file previews it (POST /api/kb/import/preview writes nothing); the Import button
   imports the same file and stays disabled while the preview lists any problem. The summary
   counts problems as listed: a row may have several. */
(function () {
  "use strict";
  var A = window.Admin, el = A.el, $ = A.$;
  var previewed = null;

  async function previewImport() {
    var form = $("#import-form"), out = $("#import-preview"), confirm = $("#import-confirm");
    out.replaceChildren(); $("#import-result").replaceChildren(); previewed = null;
    confirm.disabled = true; confirm.textContent = "Import";
    var file = form.file.files[0]; if (!file) return;
    A.loading(out, "Checking " + file.name + "\u2026");
    try {
      var fd = new FormData(); fd.append("file", file);
      var p = await A.api("POST", "/api/kb/import/preview", fd);
      A.done(out);
      out.replaceChildren.apply(out, render(p));
      var n = p.create + p.update + p.unchanged;
      confirm.textContent = "Import " + A.plural(n, "article");
      confirm.disabled = !p.importable || n === 0;
      previewed = p.importable ? file : null;
    } catch (e) { A.done(out); out.replaceChildren(el("p", { class: "error", role: "alert", text: e.message })); }
  }

  function render(p) {
    var rows = p.rows.filter(function (r) { return r.action === "error"; }).length;
    var summary = p.importable
      ? el("p", { class: "summary summary--ok", text: "Ready: " + p.create + " to create, " + p.update + " to update, " + p.unchanged +
          " unchanged. Nothing is written until you import." })
      : el("p", { class: "summary summary--error", text: A.plural(p.problems, "problem") +
          (rows ? " in " + A.plural(rows, "article") : "") + (p.file_errors.length && rows ? " and the file" : p.file_errors.length ? " in the file" : "") +
          ": nothing can be imported until " + (p.problems === 1 ? "it is" : "they are") + " fixed. Nothing was written." });
    var parts = [summary];
    p.file_errors.forEach(function (e) { parts.push(el("p", { class: "error", text: e.text })); });
    if (!p.rows.length) return parts;
    var body = el("tbody");
    p.rows.forEach(function (r) {
      body.append(el("tr", { class: "preview preview--" + r.action, "data-action": r.action }, [
        el("td", { text: r.row == null ? "" : String(r.row) }), el("td", { text: r.line == null ? "" : String(r.line) }),
        el("td", { text: r.slug || "" }), el("td", { text: r.title || "" }), el("td", {}, [el("span", { class: "chip chip--" + r.action, text: r.action })]),
        el("td", { class: "error" }, r.errors.length ? [el("ul", {}, r.errors.map(function (e) {
          return el("li", { text: (e.line != null ? "line " + e.line + ", " : "") + (e.field ? e.field + ": " : "") + e.message });
        }))] : [])]));
    });
    parts.push(el("table", { class: "table", id: "preview-table" }, [el("caption", { class: "sr-only", text: "What importing the file would do, row by row" }),
      el("thead", {}, [el("tr", {}, ["Row", "Line", "Slug", "Title", "Action", "Problems"].map(function (h) { return el("th", { scope: "col", text: h }); }))]), body]));
    return parts;
  }

  $("#import-form").addEventListener("submit", function (ev) { ev.preventDefault(); previewImport(); });
  $("#import-form").file.addEventListener("change", previewImport);
  $("#import-confirm").addEventListener("click", async function () {
    if (!previewed) return;
    var out = $("#import-result"), confirm = $("#import-confirm"); out.replaceChildren(); confirm.disabled = true;
    try {
      var fd = new FormData(); fd.append("file", previewed);
      var r = await A.api("POST", "/api/kb/import", fd);
      out.append(el("p", { class: "summary summary--ok", text: "Imported: " + r.created + " created, " + r.updated + " updated, " + r.unchanged + " unchanged." }));
      A.toast("Imported " + A.plural(r.created + r.updated, "article") + " from " + previewed.name + ".");
      previewed = null; $("#import-preview").replaceChildren(); $("#import-form").reset(); confirm.textContent = "Import";
      A.loadArticles();
    } catch (e) {
      out.append(el("p", { class: "error", role: "alert", text: "Nothing was imported.\n" + e.message }));
    }
  });

  A.$$("[data-export]").forEach(function (b) {
    b.addEventListener("click", function () { A.download("/api/kb/export?format=" + b.dataset.export, "articles." + b.dataset.export); });
  });
  A.download = async function (url, name) {
    try {
      var blob = await (await A.api("GET", url, undefined, true)).blob();
      var a = el("a", { href: URL.createObjectURL(blob), download: name }); document.body.append(a); a.click(); a.remove();
    } catch (e) { A.error(e.message); }
  };

  // -- test a question ---------------------------------------------------------------------
  $("#test-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var out = $("#test-result");
    A.loading(out, "Asking the knowledge base\u2026");
    try {
      var r = await A.api("POST", "/api/kb/search", { text: ev.target.text.value });
      A.done(out);
      var by = r.decided_by || {};
      var parts = [el("p", {}, ["Decision: ", el("span", { class: "decision decision--" + r.decision, text: r.decision }),
        " \u2014 rule " + (by.rule || "?").replace(/_/g, " ") + ", threshold " + by.threshold + (by.score != null ? ", best score " + by.score.toFixed(3) : "")])];
      if (!r.hits.length) parts.push(el("p", { class: "hint", text: "No article came close: the bot would hand this question to an agent." }));
      else {
        var body = el("tbody");
        r.hits.forEach(function (h) {
          body.append(el("tr", {}, [el("td", {}, [el("button", { type: "button", class: "linklike", text: h.title, onclick: function () { A.showTab("articles"); A.openArticle(h.article_id); } })]),
            el("td", { text: h.score.toFixed(3) }), el("td", { text: h.matched_question })]));
        });
        parts.push(el("table", { class: "table" }, [el("thead", {}, [el("tr", {}, ["Article", "Score", "Matched question"].map(function (h) { return el("th", { scope: "col", text: h }); }))]), body]));
      }
      out.replaceChildren.apply(out, parts);
    } catch (e) { A.failed(out, "an answer", e); }
  });
})();
