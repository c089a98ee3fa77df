/*
 * tier1 widget: a small, safe Markdown subset rendered by building DOM nodes.
 * Supported: paragraphs, line breaks, "- " / "* " and "1. " lists, **bold**, *italic*,
 * `code`, [label](url) and bare http(s) URLs. Text is only ever set with textContent and
 * links only get http:, https: or mailto: targets (rel="noopener noreferrer"), so nothing
 * in a message (a bot answer, an agent's reply) can become markup or script.
 */
(function () {
  "use strict";
  var NS = (window.Tier1Widget = window.Tier1Widget || {});

  var INLINE = new RegExp(
    [
      "\\*\\*([^*\\n]+)\\*\\*", // 1 bold
      "\\[([^\\]\\n]+)\\]\\(([^()\\s]+)\\)", // 2 label, 3 url
      "`([^`\\n]+)`", // 4 code
      "(?:^|(?=\\W))\\*([^*\\s][^*\\n]*?)\\*", // 5 italic
      "(https?:\\/\\/[^\\s<>()\"']+[^\\s<>()\"'.,;:!?])", // 6 bare URL
    ].join("|"),
    "g"
  );
  var BULLET = /^\s*[-*\u2022]\s+(.*)$/;
  var NUMBERED = /^\s*\d{1,3}[.)]\s+(.*)$/;

  function safeHref(value) {
    try {
      var url = new URL(String(value), window.location.href);
      var ok = url.protocol === "http:" || url.protocol === "https:" || url.protocol === "mailto:";
      return ok ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function link(parent, label, url) {
    var href = safeHref(url);
    if (!href) {
      parent.appendChild(document.createTextNode(label));
      return;
    }
    var a = document.createElement("a");
    a.href = href;
    a.textContent = label;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    parent.appendChild(a);
  }

  function inline(parent, text) {
    var last = 0;
    var match;
    INLINE.lastIndex = 0;
    while ((match = INLINE.exec(text)) !== null) {
      var whole = match[0];
      var start = match.index;
      if (match[5] !== undefined && whole.charAt(0) !== "*") {
        start += 1; // the italic pattern may have consumed the character before the *
      }
      if (start > last) parent.appendChild(document.createTextNode(text.slice(last, start)));
      if (match[1] !== undefined) {
        var strong = document.createElement("strong");
        strong.textContent = match[1];
        parent.appendChild(strong);
      } else if (match[2] !== undefined) {
        link(parent, match[2], match[3]);
      } else if (match[4] !== undefined) {
        var code = document.createElement("code");
        code.textContent = match[4];
        parent.appendChild(code);
      } else if (match[5] !== undefined) {
        var em = document.createElement("em");
        em.textContent = match[5];
        parent.appendChild(em);
      } else if (match[6] !== undefined) {
        link(parent, match[6], match[6]);
      }
      last = INLINE.lastIndex;
      if (whole.length === 0) INLINE.lastIndex += 1;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function paragraph(lines) {
    var p = document.createElement("p");
    lines.forEach(function (line, i) {
      if (i) p.appendChild(document.createElement("br"));
      inline(p, line);
    });
    return p;
  }

  /* A DocumentFragment for `text`; never parses HTML. */
  function render(text) {
    var fragment = document.createDocumentFragment();
    var lines = String(text || "").split(/\r?\n/);
    var para = [];
    var list = null;
    var listType = null;
    function flushPara() {
      if (para.length) fragment.appendChild(paragraph(para));
      para = [];
    }
    function flushList() {
      if (list) fragment.appendChild(list);
      list = null;
      listType = null;
    }
    lines.forEach(function (line) {
      var bullet = BULLET.exec(line);
      var numbered = bullet ? null : NUMBERED.exec(line);
      if (bullet || numbered) {
        var type = bullet ? "ul" : "ol";
        flushPara();
        if (listType !== type) {
          flushList();
          list = document.createElement(type);
          listType = type;
        }
        var li = document.createElement("li");
        inline(li, (bullet || numbered)[1]);
        list.appendChild(li);
      } else if (!line.trim()) {
        flushPara();
        flushList();
      } else {
        flushList();
        para.push(line);
      }
    });
    flushPara();
    flushList();
    return fragment;
  }

  NS.markdown = { render: render, safeHref: safeHref };
})();
