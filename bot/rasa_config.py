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


def encoder_mismatch(rasa: dict[str, Any], model: str, runtime: str) -> str | None:
    """Why the NLU cannot reuse the app's sentence vector, or None when it can (or has none).

    The app hands each message's vector to Rasa (`bot.embedding_handover`); the NLU's
    `SentenceEmbeddingFeaturizer` takes it only from the same model run the same way (onnx and
    torch agree; onnx-int8 differs), else it encodes every message a second time.

    Args:
        rasa: Rasa's keys of config.yml (`rasa_config`).
        model: ``knowledge_base.embedder.model``.
        runtime: ``knowledge_base.embedder.runtime``.
    """
    from bot.nlu_sentence_featurizer import SentenceEmbeddingFeaturizer as featurizer

    defaults = featurizer.get_default_config()
    for component in rasa.get("pipeline") or []:
        if not str(component.get("name", "")).endswith(featurizer.__name__):
            continue
        nlu_model = component.get("model", defaults["model"])
        nlu_runtime = component.get("runtime", defaults["runtime"])
        if nlu_model != model or (nlu_runtime == "onnx-int8") != (runtime == "onnx-int8"):
            return (
                f"the NLU featurizer runs {nlu_model} ({nlu_runtime}) and the knowledge base "
                f"{model} ({runtime}): every message is encoded twice; set the pipeline's "
                "SentenceEmbeddingFeaturizer model and runtime to knowledge_base.embedder's"
            )
    return None


__all__ = ["RASA_KEYS", "encoder_mismatch", "rasa_config"]
