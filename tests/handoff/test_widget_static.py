"""The demo chat page's files: self-contained, prefix-safe, no HTML injection of content."""

from __future__ import annotations

import re

import pytest

from handoff import STATIC_DIR, Handoff

pytestmark = pytest.mark.unit


def test_the_page_and_its_vendored_client_are_there(handoff: Handoff):
    assert handoff.static_dir == STATIC_DIR
    for name in ("index.html", "widget.js", "widget.css", "vendor/socket.io.min.js"):
        assert (STATIC_DIR / name).is_file(), name
    vendor = (STATIC_DIR / "vendor/socket.io.min.js").read_text(encoding="utf-8")
    assert vendor.startswith("/*!\n * Socket.IO v4.7.5")
    assert "MIT" in (STATIC_DIR / "vendor/socket.io-client.LICENSE").read_text(encoding="utf-8")


def test_index_uses_only_relative_urls_and_no_cdn():
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    urls = re.findall(r'(?:src|href)="([^"]*)"', html)
    # The app serves the page at / and this folder at /static/.
    assert {"static/widget.css", "static/widget.js", "static/vendor/socket.io.min.js"} <= set(urls)
    for url in urls:
        assert not url.startswith(("/", "http:", "https:")), url


def test_widget_never_injects_message_content_as_html():
    js = (STATIC_DIR / "widget.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in js, sink
    assert "textContent" in js
    # The rasa-webchat protocol, with the socket path relative to the page.
    for event in ("session_request", "session_confirm", "user_uttered", "bot_uttered", "history"):
        assert f'"{event}"' in js, event
    assert 'path: base + "socket.io"' in js and "client_id" in js
