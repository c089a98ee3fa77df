/* Analytics: a period (last 7 / 30 / 90 days or custom dates, UTC days as the API counts
   them), the figures, two Chart.js charts (vendored) and the article and agent tables. */
(function () {
  "use strict";
  var A = window.Admin, el = A.el, $ = A.$;
  var range = { days: 30, start: null, end: null };

  function iso(d) { return d.toISOString().slice(0, 10); }
  function period() {
    if (range.days !== "custom") {
      var end = new Date(), start = new Date(end.getTime() - (range.days - 1) * 86400000);
      return { start: iso(start), end: iso(end) };
    }
    return { start: range.start, end: range.end };
  }
  function query() { var p = period(); return new URLSearchParams({ start: p.start, end: p.end }).toString(); }
  function readable(day) { return new Date(day + "T00:00:00Z").toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" }); }

  $("#presets").addEventListener("click", function (ev) {
    var b = ev.target.closest("button[data-days]"); if (!b) return;
    A.$$("#presets button").forEach(function (x) { x.setAttribute("aria-pressed", String(x === b)); });
    var custom = b.dataset.days === "custom";
    $("#range").hidden = !custom;
    if (custom) {
      var p = period(), f = $("#range");
      if (!f.start.value) f.start.value = p.start;
      if (!f.end.value) f.end.value = p.end;
      f.start.focus();
      return; // applied with the form's button
    }
    range.days = Number(b.dataset.days);
    loadAnalytics();
  });
  $("#range").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var f = ev.target;
    if (f.start.value > f.end.value) { A.error("The period starts after it ends: pick a start date on or before the end date."); return; }
    range = { days: "custom", start: f.start.value, end: f.end.value };
    loadAnalytics();
  });
  $("#csv").addEventListener("click", function () { A.download("/api/admin/analytics.csv?" + query(), "tier1-analytics.csv"); });

  function pct(x) { return x == null ? "\u2014" : (100 * x).toFixed(1) + "%"; }

  async function loadAnalytics() {
    var state = $("#analytics-state"), body = $("#analytics-body"), p = period();
    $("#range-label").textContent = readable(p.start) + " \u2013 " + readable(p.end) + " (UTC)";
    A.loading(state, "Loading the figures\u2026");
    body.setAttribute("aria-busy", "true");
    try {
      var r = await A.api("GET", "/api/admin/analytics?" + query());
      A.done(state); state.replaceChildren(); body.removeAttribute("aria-busy");
      if (!r.conversations) A.empty(state, "No conversations in this period.", "Pick a longer period, or check back once users have chatted.");
      render(r);
    } catch (e) { body.removeAttribute("aria-busy"); A.failed(state, "the analytics", e, loadAnalytics); }
  }
  A.loadAnalytics = loadAnalytics;

  function render(r) {
    var figs = [["Conversations", r.conversations], ["Automated resolution", pct(r.automated_resolution_rate)],
      ["Handoff rate", pct(r.handoff_rate)], ["CSAT (mean of " + r.csat_count + ")", r.csat_mean == null ? "\u2014" : r.csat_mean.toFixed(2)],
      ["Satisfied (4\u20135)", pct(r.csat_satisfied_rate)],
      ["Median first reply", r.median_first_reply_seconds == null ? "\u2014" : Math.round(r.median_first_reply_seconds) + " s"]];
    var box = $("#figures");
    box.replaceChildren.apply(box, figs.map(function (f) {
      return el("div", { class: "figure", "data-figure": f[0] }, [el("div", { class: "figure__value", text: String(f[1]) }), el("div", { class: "figure__label", text: f[0] })]);
    }));
    barChart("chart-daily", r.daily.map(function (d) { return d.day.slice(5); }), [
      { label: "answered by the bot", data: r.daily.map(function (d) { return d.conversations - d.handed_off; }), backgroundColor: "#9fb2fb" },
      { label: "handed off", data: r.daily.map(function (d) { return d.handed_off; }), backgroundColor: "#3b5bdb" }], true);
    var reasons = Object.keys(r.handoffs_by_reason);
    barChart("chart-reasons", reasons.map(function (k) { return k.replace(/_/g, " "); }), [
      { label: "handoffs", data: reasons.map(function (k) { return r.handoffs_by_reason[k]; }), backgroundColor: "#3b5bdb" }], false);
    table("#top-articles", r.top_articles, 4, "No article answered anything in this period.", function (a) {
      return [a.title || "#" + a.article_id, a.answers, a.helpful, a.not_helpful];
    });
    table("#agent-load", r.agents, 5, "No agent chatted in this period.", function (a) {
      return [a.display_name, a.conversations, a.messages, a.resolved, a.csat_mean == null ? "\u2014" : a.csat_mean.toFixed(2)];
    });
  }

  function table(sel, items, columns, empty, cells) {
    var body = $(sel);
    if (!items.length) { body.replaceChildren(el("tr", {}, [el("td", { colspan: String(columns), class: "muted", text: empty })])); return; }
    body.replaceChildren.apply(body, items.map(function (x) {
      return el("tr", {}, cells(x).map(function (c) { return el("td", { text: String(c) }); }));
    }));
  }

  // One Chart.js instance per canvas, replaced on reload.
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
})();
