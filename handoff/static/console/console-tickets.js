/*
 * tier1 agent console: offline messages (tickets) — an email and a message left while nobody
 * could chat. The agent replies by email (a mailto link), reads the transcript, and closes it.
 */
(function (C) {
  "use strict";

  var REFRESH_MS = 15000;
  var shown = 0;

  C.loadTickets = function () {
    if (!C.state.token) return;
    C.request("GET", "/tickets?status=open").then(render).catch(function () {});
  };

  function render(tickets) {
    var ul = C.$("tickets");
    C.clear(ul);
    C.$("tickets-count").textContent = tickets.length;
    // Open the section when messages wait (and when more arrive); the agent may fold it.
    if (tickets.length > shown) C.$("tickets-box").open = true;
    shown = tickets.length;
    if (!tickets.length) ul.appendChild(C.el("li", "muted tickets__none", "No offline messages."));
    tickets.forEach(function (t) {
      var li = C.el("li", "item ticket");
      li.dataset.id = String(t.id);
      var top = C.el("div", "item__top");
      var mail = C.el("a", "ticket__email", t.email);
      mail.href = "mailto:" + encodeURIComponent(t.email).replace(/%40/g, "@");
      top.appendChild(mail);
      top.appendChild(C.timeEl(t.submitted_at, "ticket__time"));
      li.appendChild(top);
      li.appendChild(C.el("div", "ticket__message", t.message));
      var actions = C.el("div", "ticket__actions");
      actions.appendChild(C.button("ticket__open", "Transcript", function () {
        C.openConversation(t.conversation_id);
      }));
      var close = C.button("ticket__close", "Close");
      close.addEventListener("click", function () {
        close.disabled = true;
        C.request("POST", "/tickets/" + t.id + "/close").then(C.loadTickets).catch(function (e) {
          close.disabled = false;
          if (!C.isAuthError(e)) C.notice(e.message, "error");
          C.loadTickets();
        });
      });
      actions.appendChild(close);
      li.appendChild(actions);
      ul.appendChild(li);
    });
  }

  C.on("socket:queue", function () { C.loadTickets(); });
  setInterval(C.loadTickets, REFRESH_MS);
})(window.tier1Console = window.tier1Console || {});
