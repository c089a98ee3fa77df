/*
 * tier1 agent console: the shared core. Plain browser JavaScript, no build step; the
 * console's files share one namespace object (window.tier1Console, "C" in each file) and
 * are loaded in order by index.html: core, labels, queue, transcript, context,
 * conversation, composer, tickets, shortcuts, app.
 *
 * Here: the state, DOM and time helpers, the REST client, a tiny event hub the modules
 * talk through, and the notice bar (errors and confirmations above the reply box: always
 * visible, dismissible, and cleared when the conversation changes).
 *
 * Message content is only ever set with textContent.
 */
(function (C) {
  "use strict";

  var base = window.location.pathname.replace(/[^/]*$/, "");
  C.base = base;
  C.api = base + "api";
  C.$ = function (id) { return document.getElementById(id); };

  C.state = {
    token: null,
    me: null,
    socket: null,
    open: null, // the open conversation (API shape, with messages)
    agents: [],
  };

  // -- storage ------------------------------------------------------------------------

  C.storageGet = function (key) {
    try { return localStorage.getItem(key); } catch (e) { return null; }
  };
  C.storageSet = function (key, value) {
    try { if (value === null) localStorage.removeItem(key); else localStorage.setItem(key, value); }
    catch (e) { /* private mode */ }
  };

  // -- DOM ----------------------------------------------------------------------------

  C.el = function (tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };

  C.clear = function (node) { while (node.firstChild) node.removeChild(node.firstChild); };

  C.button = function (className, text, onClick) {
    var b = C.el("button", className, text);
    b.type = "button";
    if (onClick) b.addEventListener("click", onClick);
    return b;
  };

  C.newClientId = function () {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  };

  C.isTyping = function (node) {
    if (!node || !node.tagName) return false;
    var tag = node.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select" || node.isContentEditable) return true;
    if (tag !== "input") return false;
    return !/^(checkbox|radio|button|submit|reset)$/i.test(node.type || "");
  };

  C.narrow = function () { return window.matchMedia("(max-width: 1279px)").matches; };
  C.phone = function () { return window.matchMedia("(max-width: 760px)").matches; };

  // -- time ---------------------------------------------------------------------------

  C.fmtAbsolute = function (iso) {
    var d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleString([], {
      weekday: "short", year: "numeric", month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
  };

  C.fmtClock = function (iso) {
    var d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  };

  // "just now", "5 min ago", "3 h ago", "yesterday 14:05", "12 Mar 09:30".
  C.fmtRelative = function (iso, now) {
    var d = new Date(iso);
    if (isNaN(d)) return "";
    now = now || Date.now();
    var seconds = Math.round((now - d.getTime()) / 1000);
    if (seconds < 45) return "just now";
    if (seconds < 3600) return Math.max(1, Math.round(seconds / 60)) + " min ago";
    var today = new Date(now); today.setHours(0, 0, 0, 0);
    if (d >= today) return Math.round(seconds / 3600) + " h ago";
    var yesterday = new Date(today.getTime() - 86400000);
    if (d >= yesterday) return "yesterday " + C.fmtClock(iso);
    return d.toLocaleDateString([], { day: "numeric", month: "short" }) + " " + C.fmtClock(iso);
  };

  // A <time> showing the relative time, the absolute one on hover; kept fresh below.
  C.timeEl = function (iso, className) {
    var t = C.el("time", "reltime" + (className ? " " + className : ""), C.fmtRelative(iso));
    t.dateTime = iso;
    t.title = C.fmtAbsolute(iso);
    return t;
  };

  C.fmtWait = function (seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return h ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
  };

  setInterval(function () {
    document.querySelectorAll("time.reltime").forEach(function (t) {
      t.textContent = C.fmtRelative(t.dateTime);
    });
  }, 30000);

  // -- events between modules -----------------------------------------------------------

  var handlers = {};
  C.on = function (name, fn) { (handlers[name] = handlers[name] || []).push(fn); };
  C.emit = function (name, data) {
    (handlers[name] || []).forEach(function (fn) {
      try { fn(data); } catch (e) { if (window.console) window.console.error(e); }
    });
  };

  // -- REST -----------------------------------------------------------------------------

  // Resolves with the JSON body; rejects with an Error whose message is the server's
  // explanation (`detail`), or "401" after logging out.
  C.request = function (method, path, body) {
    var init = { method: method, headers: { Authorization: "Bearer " + C.state.token } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(C.api + path, init).catch(function () {
      throw new Error("Cannot reach the server; check the connection and try again.");
    }).then(function (r) {
      if (r.status === 401) { C.emit("unauthorized"); throw new Error("401"); }
      if (r.status === 204) return null;
      return r.json().catch(function () { return null; }).then(function (data) {
        if (!r.ok) throw new Error(C.detail(data, r.status));
        return data;
      });
    });
  };

  C.detail = function (data, status) {
    var d = data && data.detail;
    if (typeof d === "string") return d;
    if (Array.isArray(d) && d.length && d[0].msg) return d[0].msg;
    return "The server answered " + status + "; try again.";
  };

  C.isAuthError = function (e) { return String(e && e.message) === "401"; };

  // -- the notice bar -------------------------------------------------------------------

  var noticeTimer = null;
  // kind: "error" (stays until dismissed or the next action), "success" or "info" (fade).
  C.notice = function (text, kind) {
    var box = C.$("notice");
    clearTimeout(noticeTimer);
    if (!text) { box.hidden = true; C.$("notice-text").textContent = ""; return; }
    kind = kind || "error";
    box.className = "notice notice--" + kind;
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    C.$("notice-text").textContent = text;
    box.hidden = false;
    if (kind !== "error") noticeTimer = setTimeout(function () { C.notice(""); }, 8000);
  };
  C.clearNotice = function () { C.notice(""); };

  document.addEventListener("DOMContentLoaded", function () {
    var close = C.$("notice-close");
    if (close) close.addEventListener("click", C.clearNotice);
  });

  // Screen-reader announcements that are not on screen as such.
  C.announce = function (text) {
    var live = C.$("live");
    if (!live) return;
    live.textContent = "";
    setTimeout(function () { live.textContent = text; }, 30);
  };
})(window.tier1Console = window.tier1Console || {});
