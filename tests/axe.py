"""Accessibility checks with axe-core (vendored under tests/e2e/vendor/axe-core/).

``serious_violations(page)`` injects axe into a Playwright page (or frame) and returns the
violations of impact ``serious`` or ``critical``, each as ``{id, impact, help, targets}``;
tests assert the list is empty and print it when it is not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).parent / "e2e" / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def serious_violations(page: Any, context: str | None = None) -> list[dict[str, Any]]:
    """axe's serious and critical violations on ``page`` (within CSS selector ``context``)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    results = page.evaluate(
        """async (context) => {
            const r = await window.axe.run(context ? document.querySelector(context) : document,
                                           { resultTypes: ["violations"] });
            return r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                                            targets: v.nodes.map(n => n.target.join(" ")) }));
        }""",
        context,
    )
    return [v for v in results if v["impact"] in BLOCKING]


__all__ = ["serious_violations"]
