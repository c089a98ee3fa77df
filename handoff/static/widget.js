/*
 * tier1 chat widget: the one script a site embeds.
 *
 *   <script src="https://support.example.com/widget.js" async></script>
 *
 * Optional attributes: data-open="true" (open at once), data-title, data-subtitle,
 * data-welcome-message, data-position="left|right", data-custom-data='{"plan":"pro"}'
 * (passed to the bot as metadata). Everything else (colours, texts, avatar) comes from the
 * server's config.yml through GET /api/widget/config.
 *
 * The widget lives in a shadow root, so the host page's CSS cannot break it and its CSS
 * cannot leak into the page. It loads its parts from the same server as this script (no
 * CDN, no build step): static/widget.css, static/vendor/socket.io.min.js and, in this
 * order, static/widget-markdown.js, widget-dom.js, widget-log.js, widget-view.js and
 * widget-chat.js.
 */
(function () {
  "use strict";
  var NS = (window.Tier1Widget = window.Tier1Widget || {});
  if (NS.loading) return; // embedded twice
  NS.loading = true;

  var script = document.currentScript;
  if (!script) {
    var candidates = document.querySelectorAll('script[src*="widget.js"]');
    script = candidates[candidates.length - 1];
  }
  var src = new URL(script.getAttribute("src"), window.location.href);
  // Served at <root>/widget.js (and <root>/static/widget.js): <root> may carry a proxy prefix.
  var rootPath = src.pathname.replace(/[^/]*$/, "").replace(/static\/$/, "");
  var root = src.origin + rootPath;
  var data = script.dataset || {};

  function load(url) {
    return new Promise(function (resolve, reject) {
      var tag = document.createElement("script");
      tag.src = url;
      tag.async = false;
      tag.onload = resolve;
      tag.onerror = function () { reject(new Error("could not load " + url)); };
      document.head.appendChild(tag);
    });
  }

  function fetchConfig() {
    return fetch(root + "api/widget/config", { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : {}; })
      .catch(function () { return {}; });
  }

  function customData() {
    if (!data.customData) return {};
    try {
      var parsed = JSON.parse(data.customData);
      return parsed && typeof parsed === "object" ? parsed : {};
    } catch (e) {
      return {};
    }
  }

  function start() {
    var hostsIo = window.io; // the page may use its own socket.io client: keep it
    var ioLib = null;
    var ready = load(root + "static/vendor/socket.io.min.js").then(function () {
      ioLib = window.io;
      if (hostsIo) window.io = hostsIo;
    });
    Promise.all([
      ready,
      load(root + "static/widget-markdown.js"),
      load(root + "static/widget-dom.js"),
      load(root + "static/widget-log.js"),
      load(root + "static/widget-view.js"),
      load(root + "static/widget-chat.js"),
      fetchConfig(),
    ])
      .then(function (results) {
        var config = results[results.length - 1] || {};
        config.strings = config.strings || {};
        if (data.title) config.title = data.title;
        if (data.subtitle) config.subtitle = data.subtitle;
        if (data.welcomeMessage) config.welcome_message = data.welcomeMessage;
        if (data.position) config.position = data.position;

        var host = document.createElement("div");
        host.id = "tier1-widget";
        host.className = "tier1-widget position-" + (config.position === "left" ? "left" : "right");
        var theme = config.theme || {};
        [["primary", "--t1-primary"], ["on_primary", "--t1-on-primary"],
         ["background", "--t1-background"], ["text", "--t1-text"]].forEach(function (pair) {
          if (theme[pair[0]]) host.style.setProperty(pair[1], theme[pair[0]]);
        });
        host.style.visibility = "hidden"; // until the stylesheet has loaded
        var shadow = host.attachShadow({ mode: "open" });
        var css = document.createElement("link");
        css.rel = "stylesheet";
        css.href = root + "static/widget.css";
        css.onload = css.onerror = function () { host.style.visibility = ""; };
        shadow.appendChild(css);
        document.body.appendChild(host);

        NS.mount({
          root: shadow,
          config: config,
          io: ioLib,
          origin: src.origin,
          socketPath: rootPath + "socket.io",
          open: data.open === "true",
          customData: customData(),
        });
      })
      .catch(function (e) {
        if (window.console) window.console.error("tier1 widget:", e);
      });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
