"""Rasa's own keys of config.yml: what Rasa reads and what training depends on.

config.yml is one file for Rasa and tier1; Rasa ignores tier1's sections, and tier1's settings
(`tier1.settings`) validate everything but these keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

RASA_KEYS = frozenset({"recipe", "language", "pipeline", "policies", "assistant_id"})


def rasa_config(config_path: Path | str) -> dict[str, Any]:
    """Rasa's own keys of config.yml (what training depends on)."""
    data = yaml.safe_load(Path(config_path).read_text(encoding="utf-8")) or {}
    return {k: v for k, v in data.items() if k in RASA_KEYS}


__all__ = ["RASA_KEYS", "rasa_config"]
