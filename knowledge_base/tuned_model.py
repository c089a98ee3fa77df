"""A tuned model on disk: where ``tier1 kb tune`` saves it and the manifest that says what it is.

Shared by `knowledge_base.tuning` (which writes it) and `knowledge_base.embedder` (which uses it
when its manifest names the configured base model), so neither imports the other. Importing
this module loads nothing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MANIFEST = "tier1-tuning.json"
FORMAT = 1


@dataclass(frozen=True)
class TunedManifest:
    """What a tuned model directory holds; ``name`` is the embedder name its vectors carry."""

    base_model: str
    kb_version: int | None
    steps: int
    pairs: int
    articles: int
    epochs_done: float
    stopped_by: str
    seconds: float
    created: str
    options: dict
    fingerprint: str
    format: int = FORMAT

    @property
    def name(self) -> str:
        """The embedder name of the tuned model: its base model and fingerprint."""
        return f"tuned:{self.base_model}@{self.fingerprint}"


def tuned_model_dir(index_path: Path | str) -> Path:
    """Where the tuned model of the index at ``index_path`` lives (beside it)."""
    index_path = Path(index_path)
    return index_path.with_name(index_path.name + ".tuned-model")


def read_manifest(model_dir: Path | str, base_model: str) -> TunedManifest | None:
    """The manifest of a tuned model made from ``base_model``, or None (with a log line).

    None when the directory is absent, incomplete, of another format or tuned from another
    model.
    """
    model_dir = Path(model_dir)
    path = model_dir / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = TunedManifest(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as e:
        log.warning("ignoring the tuned model at %s: unreadable manifest (%s)", model_dir, e)
        return None
    if manifest.format != FORMAT or manifest.base_model != base_model:
        log.info(
            "ignoring the tuned model at %s: tuned from %r (format %s), the configured model is "
            "%r (format %s); using the base model",
            model_dir,
            manifest.base_model,
            manifest.format,
            base_model,
            FORMAT,
        )
        return None
    if not (model_dir / "modules.json").is_file():
        log.warning("ignoring the tuned model at %s: no modules.json (incomplete)", model_dir)
        return None
    return manifest


__all__ = ["FORMAT", "MANIFEST", "TunedManifest", "read_manifest", "tuned_model_dir"]
