/*
 * tier1 agent console: keyboard shortcuts and their help overlay ("?").
 *
 * Single keys, like Chatwoot's and Gmail's; none fires while the focus is in a text field
 * (typing "c" in the reply box types a "c"), except sending: Enter or Ctrl/Cmd+Enter in
 * the reply box. Escape leaves a text field, so the keys work again.
 */
(function (C) {
  "use strict";

  // [key, description, action]; the help overlay lists them in this order.
  var KEYS = [
    ["j", "Next conversation in the list", function () { C.stepConversation(1); }],
    ["k", "Previous conversation in the list", function () { C.stepConversation(-1); }],
    ["c", "Claim the open conversation", function () { C.claim(); }],
    ["r", "Reply (focus the reply box)", function () { C.focusReply("reply"); }],
    ["n", "Internal note mode", function () { C.focusReply("note"); }],
    ["e", "Resolve the open conversation", function () { C.resolve(); }],
    ["/", "Search conversations", function () { C.$("search").focus(); C.$("search").select(); }],
    ["1", "View: Mine", function () { C.setView("mine"); }],
    ["2", "View: Unassigned", function () { C.setView("unassigned"); }],
    ["3", "View: All open", function () { C.setView("open"); }],
    ["4", "View: Resolved", function () { C.setView("resolved"); }],
    ["i", "Show or hide the details panel", function () { C.togglePanel(); }],
    ["?", "Show this help", function () { C.toggleHelp(); }],
  ];
  var ALSO = [
    ["Enter", "Send (in the reply box); Shift+Enter: new line"],
    ["Ctrl/⌘ + Enter", "Send (in the reply box)"],
    ["/ in the reply box", "Canned responses (arrows, Enter or Tab to insert)"],
    ["Esc", "Leave the text field, close menus and this help"],
  ];

  var help = C.$("help");
  var returnFocus = null;

  function buildHelp() {
    var dl = C.$("help-keys");
    C.clear(dl);
    KEYS.map(function (k) { return [k[0], k[1]]; }).concat(ALSO).forEach(function (k) {
      var dt = C.el("dt");
      dt.appendChild(C.el("kbd", null, k[0]));
      dl.appendChild(dt);
      dl.appendChild(C.el("dd", null, k[1]));
    });
  }
  buildHelp();

  C.toggleHelp = function (force) {
    var open = typeof force === "boolean" ? force : help.hidden;
    if (open === !help.hidden) return;
    help.hidden = !open;
    if (open) {
      returnFocus = document.activeElement;
      C.$("help-close").focus();
    } else if (returnFocus && returnFocus.focus) {
      returnFocus.focus();
    }
  };

  C.$("help-open").addEventListener("click", function () { C.toggleHelp(true); });
  C.$("help-close").addEventListener("click", function () { C.toggleHelp(false); });
  help.addEventListener("click", function (event) { if (event.target === help) C.toggleHelp(false); });
  help.addEventListener("keydown", function (event) {
    if (event.key === "Tab") { event.preventDefault(); C.$("help-close").focus(); } // one control
  });

  document.addEventListener("keydown", function (event) {
    if (C.$("app").hidden) return;
    if (event.key === "Escape") {
      if (!help.hidden) { C.toggleHelp(false); event.preventDefault(); return; }
      if (C.narrow() && C.$("app").classList.contains("context-open") && !C.isTyping(event.target)) {
        C.togglePanel(false);
        return;
      }
    }
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (C.isTyping(event.target) || !help.hidden && event.key !== "?") return;
    for (var i = 0; i < KEYS.length; i++) {
      if (KEYS[i][0] === event.key) {
        event.preventDefault();
        KEYS[i][2]();
        return;
      }
    }
  });
})(window.tier1Console = window.tier1Console || {});
