"""The widget's files: one embeddable script, no CDN, no HTML sinks, colours that pass WCAG AA."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from handoff import STATIC_DIR, Handoff
from handoff.settings import WidgetSettings, WidgetTheme, contrast_ratio

pytestmark = pytest.mark.unit

WIDGET_JS = ("widget.js", "widget-markdown.js", "widget-dom.js", "widget-log.js", "widget-view.js",
             "widget-chat.js")


def test_the_widget_files_and_the_vendored_client_are_there(handoff: Handoff):
    assert handoff.static_dir == STATIC_DIR
    for name in (*WIDGET_JS, "index.html", "widget.css", "vendor/socket.io.min.js"):
        assert (STATIC_DIR / name).is_file(), name
    vendor = (STATIC_DIR / "vendor/socket.io.min.js").read_text(encoding="utf-8")
    assert vendor.startswith("/*!\n * Socket.IO v4.7.5")
    assert "MIT" in (STATIC_DIR / "vendor/socket.io-client.LICENSE").read_text(encoding="utf-8")


def test_the_demo_page_uses_the_same_one_script_embed_with_a_relative_url():
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r'<script\b[^>]*\bsrc="([^"]*)"', html)
    assert scripts == ["widget.js"]  # relative: works at / and under a proxy prefix
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)


def test_the_loader_finds_its_parts_next_to_itself_not_on_a_cdn():
    js = (STATIC_DIR / "widget.js").read_text(encoding="utf-8")
    parts = ("static/widget-markdown.js", "static/widget-dom.js", "static/widget-log.js",
             "static/widget-view.js", "static/widget-chat.js")
    for part in ("static/widget.css", "static/vendor/socket.io.min.js", *parts,
                 "api/widget/config"):
        assert f'root + "{part}"' in js, part
    # Loaded in this order (each uses what the ones before it defined).
    where = [js.index(f'root + "{p}"') for p in parts]
    assert where == sorted(where)
    assert 'rootPath + "socket.io"' in js
    for name in WIDGET_JS:
        text = (STATIC_DIR / name).read_text(encoding="utf-8")
        # The SVG namespace URI is an identifier, never fetched.
        assert not re.search(r"https?://(?!support\.example\.com|www\.w3\.org/2000/svg\b)",
                             text.split("*/", 1)[1]), name


def test_widget_scripts_never_inject_content_as_html():
    for name in WIDGET_JS:
        js = (STATIC_DIR / name).read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                     "new Function", "DOMParser", "createContextualFragment"):
            assert sink not in js, (name, sink)
    chat = (STATIC_DIR / "widget-chat.js").read_text(encoding="utf-8")
    for event in ("session_request", "user_uttered", "bot_uttered", "history", "queue_position",
                  "agent_typing", "user_typing", "availability"):
        assert f'"{event}"' in chat, event
    markdown = (STATIC_DIR / "widget-markdown.js").read_text(encoding="utf-8")
    assert '"http:"' in markdown and '"https:"' in markdown and '"mailto:"' in markdown
    assert 'rel = "noopener noreferrer"' in markdown


def _css_var(css: str, name: str) -> str:
    return re.search(rf"{name}:\s*(#[0-9a-fA-F]{{6}})", css).group(1)


def test_fixed_text_colours_reach_wcag_aa_on_their_backgrounds():
    css = (STATIC_DIR / "widget.css").read_text(encoding="utf-8")
    v = {name: _css_var(css, f"--t1-{name}") for name in (
        "background", "text", "muted", "bot", "agent", "agent-name", "error", "error-bg",
        "offline-bg", "offline-text", "primary", "on-primary", "avatar-text")}
    pairs = [
        ("text", "background"), ("text", "bot"), ("text", "agent"), ("muted", "background"),
        ("agent-name", "background"), ("agent-name", "agent"), ("error", "background"),
        ("error", "error-bg"), ("offline-text", "offline-bg"), ("on-primary", "primary"),
        ("avatar-text", "agent-name"),  # an agent's initials
    ]
    for fg, bg in pairs:
        assert contrast_ratio(v[fg], v[bg]) >= 4.5, (fg, bg, contrast_ratio(v[fg], v[bg]))
    # The defaults in the CSS are the defaults in the settings.
    theme = WidgetTheme()
    assert (theme.primary, theme.on_primary, theme.background, theme.text) == (
        v["primary"], v["on-primary"], v["background"], v["text"])


def test_a_theme_that_fails_contrast_is_refused_with_a_message_naming_it():
    assert round(contrast_ratio("#000000", "#ffffff"), 1) == 21.0
    with pytest.raises(ValidationError, match="on_primary #ffffff on primary #f5c400"):
        WidgetTheme(primary="#f5c400")
    with pytest.raises(ValidationError, match="not a colour"):
        WidgetTheme(primary="blue")
    with pytest.raises(ValidationError, match="extra fields"):
        WidgetSettings(strings={"sendd": "Go"})
    with pytest.raises(ValidationError, match="avatar_url"):
        WidgetSettings(avatar_url="javascript:alert(1)")


def test_the_script_and_config_are_served_at_the_root(client: TestClient):
    r = client.get("/widget.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert "Tier1Widget" in r.text
    config = client.get("/api/widget/config").json()
    assert config["title"] == "Support" and config["theme"]["primary"] == "#2f5bea"
    assert config["strings"]["talk_to_person"] == "Talk to a person"
    assert config["feedback_helpful_payload"] == "/feedback_helpful"
    assert "session_ttl_days" not in config and "allow_session_id_resume" not in config
