/*
 * tier1 widget: small DOM helpers shared by the log and the panel (widget-log.js,
 * widget-view.js). Everything is built with createElement; text only ever goes in through
 * textContent.
 */
(function () {
  "use strict";
  var NS = (window.Tier1Widget = window.Tier1Widget || {});

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Icons are inline SVG paths, not emoji: a device without an emoji font would show boxes.
  var ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    close: "M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z",
    up: "M2 10h4v11H2zM8 21h9.3a2 2 0 0 0 2-1.6l1.6-7A2 2 0 0 0 19 10h-5.4l.9-4.2A1.8 1.8 0 0 0 11.3 4L8 10z",
    down: "M2 3h4v11H2zM8 3h9.3a2 2 0 0 1 2 1.6l1.6 7A2 2 0 0 1 19 14h-5.4l.9 4.2a1.8 1.8 0 0 1-3.2 1.8L8 14z",
  };

  function icon(name) {
    var svgNS = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(svgNS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "1.2em");
    svg.setAttribute("height", "1.2em");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(svgNS, "path");
    path.setAttribute("d", ICONS[name]);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  function button(className, content, label) {
    var isNode = content && typeof content === "object";
    var b = el("button", className, isNode ? undefined : content);
    if (isNode) b.appendChild(content);
    b.type = "button";
    if (label) b.setAttribute("aria-label", label);
    return b;
  }

  function fill(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (_, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  function safeUrl(value) {
    try {
      var url = new URL(String(value), window.location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  /* "Ana Lima" -> "AL", "console-ana" -> "CA", "bo" -> "B". */
  function initials(name) {
    var words = String(name || "").split(/[\s._@-]+/).filter(Boolean);
    if (!words.length) return "?";
    var first = Array.from(words[0])[0];
    var last = words.length > 1 ? Array.from(words[words.length - 1])[0] : "";
    return (first + last).toUpperCase();
  }

  /* A round avatar: the image when there is one, else the name's initials. Decorative: the
     name is always written next to it. */
  function avatar(className, name, imageUrl) {
    var node = el("span", "avatar " + className);
    node.setAttribute("aria-hidden", "true");
    var src = imageUrl ? safeUrl(imageUrl) : null;
    if (src) {
      var img = el("img");
      img.src = src;
      img.alt = "";
      node.appendChild(img);
    } else if (name) {
      node.textContent = initials(name);
    } else {
      node.appendChild(icon("chat"));
    }
    return node;
  }

  NS.dom = {
    el: el, icon: icon, button: button, fill: fill, safeUrl: safeUrl, initials: initials,
    avatar: avatar,
  };
})();
