"""The admin console's files: vendored libraries (no CDN, no build step), no HTML sinks.

tests/e2e/test_admin_console.py checks in Chromium that every request the page makes goes to
the app itself.
"""

from __future__ import annotations

import re

import pytest

from tier1.app import ADMIN_DIR

pytestmark = pytest.mark.unit

VENDOR = {
    "vendor/chart.umd.min.js": ("/*!\n * Chart.js v4.", "vendor/chart.js.LICENSE.md", "MIT License"),
    "vendor/diff.min.js": ("!function(e,n)", "vendor/diff.LICENSE", "BSD 3-Clause License"),
}


def test_the_page_loads_only_its_own_scripts_and_styles():
    html = (ADMIN_DIR / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r'<script\b[^>]*\bsrc="([^"]*)"', html)
    assert scripts == [
        "/admin/static/vendor/chart.umd.min.js",
        "/admin/static/vendor/diff.min.js",
        "/admin/static/admin-core.js",  # helpers first, the start last
        "/admin/static/admin-articles.js",
        "/admin/static/admin-versions.js",
        "/admin/static/admin-inbox.js",
        "/admin/static/admin-import.js",
        "/admin/static/admin-analytics.js",
        "/admin/static/admin-users.js",
        "/admin/static/admin.js",
    ]
    assert sorted(p.name for p in ADMIN_DIR.glob("*.js")) == sorted(
        s.removeprefix("/admin/static/") for s in scripts if "/vendor/" not in s
    )
    styles = re.findall(r'<link\b[^>]*\brel="stylesheet"[^>]*\bhref="([^"]*)"', html)
    assert styles == ["/admin/static/admin.css"]
    # No favicon request (a 404 in every page load): an empty inline one.
    assert re.findall(r'<link\b[^>]*\brel="icon"[^>]*\bhref="([^"]*)"', html) == ["data:,"]
    for url in scripts + styles:
        assert (ADMIN_DIR / url.removeprefix("/admin/static/")).is_file(), url
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)


def test_vendored_libraries_ship_with_their_licences():
    for name, (start, licence, words) in VENDOR.items():
        assert (ADMIN_DIR / name).read_text(encoding="utf-8").startswith(start), name
        assert words in (ADMIN_DIR / licence).read_text(encoding="utf-8"), licence
    readme = (ADMIN_DIR / "vendor/README.md").read_text(encoding="utf-8")
    assert "npm pack chart.js@4" in readme and "npm pack diff@5" in readme


def scripts() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(ADMIN_DIR.glob("*.js"))}


def test_console_script_fetches_nothing_external_and_never_injects_html():
    js = "\n".join(scripts().values())
    assert not re.search(r"https?://", js)
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in js, sink
    # The charts and the revision diff use the vendored libraries, not hand-drawn SVG.
    assert "new Chart(" in js and "Diff.diffWordsWithSpace(" in js
    assert "createElementNS" not in js


def test_no_browser_pop_ups_and_small_files():
    """Dialogs are the page's own (<dialog>), never prompt()/confirm()/alert(); no script
    grows past the size a reader can hold."""
    for name, js in scripts().items():
        assert not re.search(r"(?<![.\w])(prompt|confirm|alert)\(", js), name
        assert len(js.splitlines()) <= 400, name
    assert "showModal()" in scripts()["admin-core.js"]
