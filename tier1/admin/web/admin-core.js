/* tier1 admin console, shared helpers: DOM, API calls, toasts, dialogs, dates and the
   loading / empty / error states of a view. Plain JS, no build step: every admin-*.js file
   adds its part to window.Admin; admin.js starts the console. */
(function () {
  "use strict";
  var A = window.Admin = window.Admin || {};
  A.token = sessionStorage.getItem("tier1.admin.token");

  A.$ = function (sel, root) { return (root || document).querySelector(sel); };
  A.$$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };

  /* el("button", {class: "x", text: "Go", onclick: fn, disabled: true}, [children]) */
  A.el = function (tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") e.textContent = v;
      else if (k === "class") e.className = v;
      else if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    });
    (children || []).forEach(function (c) { if (c != null && c !== false) e.append(c); });
    return e;
  };
  var el = A.el;

  A.plural = function (n, one, many) { return n + " " + (n === 1 ? one : (many || one + "s")); };

  /* The slug rule of the knowledge base (knowledge_base/knowledge_file.py). */
  A.SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
  A.slugify = function (text) {
    return String(text || "").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 80).replace(/-+$/, "");
  };

  // -- API ---------------------------------------------------------------------------------
  A.api = async function (method, url, body, raw) {
    var opts = { method: method, headers: { Authorization: "Bearer " + A.token } };
    if (body instanceof FormData) opts.body = body;
    else if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
    var r;
    try { r = await fetch(url, opts); }
    catch (e) { throw new Error("The server cannot be reached: check your connection and try again."); }
    if (r.status === 401) { if (A.logout) A.logout(); throw new Error("Your session expired: log in again."); }
    if (raw) { if (!r.ok) throw new Error(await r.text()); return r; }
    var data = r.status === 204 ? null : await r.json().catch(function () { return null; });
    if (!r.ok) {
      var detail = data && data.detail;
      if (Array.isArray(detail)) detail = detail.map(function (d) { return d.loc.slice(1).join(".") + ": " + d.msg; }).join("\n");
      var error = new Error(detail || r.statusText || "The request failed (" + r.status + ").");
      error.status = r.status;
      throw error;
    }
    return data;
  };

  // -- toasts: success clears itself, errors stay until closed ------------------------------
  var SUCCESS_MS = 5000, ACTION_MS = 10000, MAX_ERRORS = 3;
  A.toast = function (text, opts) {
    opts = opts || {};
    var box = A.$("#flash"), timer = null;
    var toast = el("div", { class: "toast toast--ok" }, [el("span", { class: "toast__text", text: text })]);
    function close() { clearTimeout(timer); toast.remove(); }
    function arm() { clearTimeout(timer); timer = setTimeout(close, opts.action ? ACTION_MS : SUCCESS_MS); }
    if (opts.action) {
      toast.append(el("button", { type: "button", class: "toast__action", text: opts.action.label, onclick: function () {
        close(); opts.action.run();
      } }));
    }
    toast.append(el("button", { type: "button", class: "toast__close", "aria-label": "Dismiss this message", text: "\u2715", onclick: close }));
    // Hovering or focusing a toast holds it, so an Undo can be reached calmly.
    toast.addEventListener("mouseenter", function () { clearTimeout(timer); });
    toast.addEventListener("mouseleave", arm);
    toast.addEventListener("focusin", function () { clearTimeout(timer); });
    toast.addEventListener("focusout", arm);
    box.replaceChildren(toast);
    arm();
    return toast;
  };
  A.error = function (text) {
    var box = A.$("#alerts");
    var toast = el("div", { class: "toast toast--error" }, [el("span", { class: "toast__text", text: String(text) }),
      el("button", { type: "button", class: "toast__close", "aria-label": "Dismiss this error", text: "\u2715", onclick: function () { toast.remove(); } })]);
    box.append(toast);
    while (box.childElementCount > MAX_ERRORS) box.firstElementChild.remove();
    return toast;
  };
  A.clearMessages = function () { A.$("#alerts").replaceChildren(); };

  // -- dialogs (native <dialog>: focus stays inside, Escape cancels) ------------------------
  var dialogCount = 0;
  /* A modal form. opts: {title, body: [nodes], submit: "Create", danger, onSubmit(form) -> result}.
     Resolves to onSubmit's result, or null when cancelled. onSubmit may throw: the message is
     shown in the dialog, which stays open. */
  A.dialog = function (opts) {
    return new Promise(function (resolve) {
      var id = "dialog-" + (++dialogCount);
      var problem = el("p", { class: "field-error", role: "alert" });
      var submit = el("button", { type: "submit", class: opts.danger ? "primary danger" : "primary", text: opts.submit || "OK" });
      var form = el("form", { method: "dialog", class: "dialog__form" }, [
        el("h2", { id: id + "-title", text: opts.title }),
      ].concat(opts.body || []).concat([problem, el("div", { class: "actions" }, [
        el("button", { type: "button", value: "cancel", text: opts.cancel || "Cancel", onclick: function () { dlg.close("cancel"); } }),
        submit])]));
      var dlg = el("dialog", { class: "dialog", "aria-labelledby": id + "-title" }, [form]);
      var result = null;
      form.addEventListener("submit", async function (ev) {
        ev.preventDefault();
        if (!form.reportValidity()) return;
        submit.disabled = true; problem.textContent = "";
        try {
          result = opts.onSubmit ? await opts.onSubmit(form) : true;
          if (result === undefined) result = true;
          dlg.close("ok");
        } catch (e) { problem.textContent = e.message; }
        finally { submit.disabled = false; }
      });
      dlg.addEventListener("close", function () { dlg.remove(); resolve(dlg.returnValue === "ok" ? result : null); });
      document.body.append(dlg);
      dlg.showModal();
      var first = form.querySelector("input:not([type=hidden]), textarea, select");
      if (first) first.focus();
    });
  };
  A.confirm = function (title, text, ok, danger) {
    return A.dialog({ title: title, body: [el("p", { text: text })], submit: ok, danger: danger })
      .then(function (r) { return r === true; });
  };
  /* A labelled field for dialogs: field("Title", el("input", {...}), "help text") */
  A.field = function (label, control, help) {
    var id = control.id || ("fld-" + Math.random().toString(36).slice(2, 9));
    control.id = id;
    var parts = [el("label", { for: id, text: label }), control];
    if (help) {
      control.setAttribute("aria-describedby", id + "-help");
      parts.push(el("p", { class: "help", id: id + "-help", text: help }));
    }
    return el("div", { class: "field" }, parts);
  };

  // -- dates --------------------------------------------------------------------------------
  A.ago = function (iso) {
    var t = new Date(iso).getTime(), s = Math.round((Date.now() - t) / 1000);
    if (isNaN(t)) return "";
    if (s < 45) return "just now";
    var m = Math.round(s / 60); if (m < 60) return m + " min ago";
    var h = Math.round(m / 60); if (h < 24) return h + " h ago";
    var d = Math.round(h / 24); if (d < 30) return A.plural(d, "day") + " ago";
    return new Date(iso).toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
  };
  A.full = function (iso) { return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }); };
  /* <time> showing "2 h ago", the exact date and time on hover and for assistive tech. */
  A.when = function (iso, prefix) {
    return el("time", { datetime: iso, title: A.full(iso), text: (prefix || "") + A.ago(iso) });
  };

  // -- people: "agent:3" -> "Ana Lima" for history rows written before names were kept --------
  var people = null;
  A.people = function () {
    if (!people) {
      people = A.api("GET", "/api/agents?include_deactivated=true").then(function (list) {
        var byActor = {};
        list.forEach(function (a) { byActor["agent:" + a.id] = a.display_name || a.email; });
        return byActor;
      }).catch(function () { people = null; return {}; });
    }
    return people;
  };
  A.forgetPeople = function () { people = null; };
  A.personName = function (actor, name, known) {
    if (name) return name;
    if (known && known[actor]) return known[actor];
    if (/^agent:\d+$/.test(actor)) return "a deleted account";
    return actor; // import, seed, internal, ...
  };

  // -- view states -------------------------------------------------------------------------
  A.loading = function (box, text) {
    box.setAttribute("aria-busy", "true");
    box.replaceChildren(el("p", { class: "state state--loading", text: text || "Loading\u2026" }));
  };
  A.done = function (box) { box.removeAttribute("aria-busy"); };
  A.empty = function (box, title, text, actions) {
    A.done(box);
    box.replaceChildren(el("div", { class: "state state--empty" }, [el("p", { class: "state__title", text: title }),
      text ? el("p", { class: "hint", text: text }) : null, actions ? el("div", { class: "toolbar" }, actions) : null]));
  };
  A.failed = function (box, what, error, retry) {
    A.done(box);
    box.replaceChildren(el("div", { class: "state state--error", role: "alert" }, [
      el("p", { class: "state__title", text: "Could not load " + what + "." }), el("p", { text: error.message }),
      retry ? el("button", { type: "button", text: "Try again", onclick: retry }) : null]));
  };
})();
