/* Users: agents and admins, their role and capacity, deactivation and password resets
   (dialogs, not browser pop-ups). */
(function () {
  "use strict";
  var A = window.Admin, el = A.el, $ = A.$;

  async function loadUsers() {
    var rows = $("#users"), agents;
    rows.replaceChildren(el("tr", {}, [el("td", { colspan: "6", class: "muted", "aria-busy": "true", text: "Loading accounts\u2026" })]));
    try { agents = await A.api("GET", "/api/agents?include_deactivated=true"); }
    catch (e) {
      rows.replaceChildren(el("tr", {}, [el("td", { colspan: "6", role: "alert" }, ["Could not load the accounts: " + e.message + " ",
        el("button", { type: "button", text: "Try again", onclick: loadUsers })])]));
      return;
    }
    A.forgetPeople();
    rows.replaceChildren.apply(rows, agents.map(userRow));
  }
  A.loadUsers = loadUsers;

  async function act(fn) { try { await fn(); } catch (e) { A.error(e.message); } }

  function userRow(a) {
    var cap = el("input", { type: "number", min: "1", max: "100", value: a.capacity || "", class: "narrow", "aria-label": "Capacity of " + a.display_name });
    var role = el("select", { "aria-label": "Role of " + a.display_name }, ["agent", "admin"].map(function (r) { return el("option", { text: r, selected: r === a.role }); }));
    var buttons = [el("button", { type: "button", text: "Save", onclick: function () { act(async function () {
      await A.api("PATCH", "/api/agents/" + a.id, { capacity: cap.value ? Number(cap.value) : null, role: role.value });
      A.toast("Saved " + a.display_name + ".");
    }); } })];
    if (a.deactivated) {
      buttons.push(el("button", { type: "button", class: "reactivate", text: "Reactivate", onclick: function () { act(async function () {
        await A.api("POST", "/api/agents/" + a.id + "/reactivate"); A.toast(a.display_name + " can log in again."); loadUsers();
      }); } }));
    } else if (!A.me || a.id !== A.me.id) {
      buttons.push(el("button", { type: "button", class: "deactivate ghost danger", text: "Deactivate", onclick: function () { act(async function () {
        if (!(await A.confirm("Deactivate " + a.display_name + "?", "They are logged out, their open chats go back to the queue and they cannot log in until reactivated.", "Deactivate", true))) return;
        var r = await A.api("POST", "/api/agents/" + a.id + "/deactivate");
        A.toast(a.display_name + " is deactivated; " + A.plural(r.requeued.length, "chat") + " went back to the queue."); loadUsers();
      }); } }));
    }
    buttons.push(el("button", { type: "button", class: "reset-password", text: "Reset password", onclick: function () { resetPassword(a); } }));
    return el("tr", { "data-agent": a.email || String(a.id), class: a.deactivated ? "user--off" : "" }, [
      el("td", { text: a.display_name }), el("td", { text: a.email || "" }), el("td", {}, [role]), el("td", {}, [cap]),
      el("td", { class: "user-status", text: a.deactivated ? "deactivated" : a.presence }), el("td", { class: "nowrap" }, buttons)]);
  }

  function resetPassword(a) {
    var password = el("input", { type: "password", name: "password", minlength: "8", autocomplete: "new-password" });
    A.dialog({
      title: "Reset the password of " + a.display_name,
      body: [A.field("New password", password, "8 characters or more. Leave it empty to generate one, shown once."),
        el("p", { class: "hint", text: "Their open sessions end." })],
      submit: "Reset password",
      onSubmit: function () {
        return A.api("POST", "/api/agents/" + a.id + "/password", password.value ? { password: password.value } : {});
      },
    }).then(function (r) {
      if (!r) return;
      var box = $("#new-password");
      box.textContent = r.password ? "New password for " + a.email + ": " + r.password + " \u2014 shown once; pass it on now." : "Password of " + a.email + " changed.";
      box.hidden = false;
      A.toast("Password reset: " + a.display_name + "'s sessions ended.");
    });
  }

  $("#user-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var f = new FormData(ev.target), body = { email: f.get("email"), password: f.get("password"), role: f.get("role") };
    if (f.get("display_name")) body.display_name = f.get("display_name");
    if (f.get("capacity")) body.capacity = Number(f.get("capacity"));
    act(async function () { await A.api("POST", "/api/agents", body); A.toast("Created " + body.email + "."); ev.target.reset(); loadUsers(); });
  });
})();
