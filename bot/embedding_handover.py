"""The user's sentence vector, handed from the app to Rasa's NLU with the message.

The app encodes a user's text once (the knowledge base remembers the vector for the bot's
search that follows) and sends it in the REST webhook's ``metadata`` under `METADATA_KEY`, with
the name of the model that made it. Rasa's `SentenceEmbeddingFeaturizer` uses it when the name
is its own model's and the size fits, instead of encoding the text a second time; otherwise it
encodes as usual. The featurizer removes the key from the metadata either way, so the vector is
never stored in the tracker nor sent to the action server.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

METADATA_KEY = "tier1_sentence_vector"


def pack(model: str, vector: np.ndarray) -> dict[str, Any]:
    """``{METADATA_KEY: {"model", "vector"}}``: the vector as base64 little-endian float32."""
    data = np.ascontiguousarray(vector, dtype="<f4").tobytes()
    return {METADATA_KEY: {"model": model, "vector": base64.b64encode(data).decode("ascii")}}


def take(metadata: Any, model: str, dimensions: int) -> np.ndarray | None:
    """Remove the handed-over vector from ``metadata``; return it if ``model`` made it.

    None when there is none, it is another model's, or it is malformed (then the caller
    encodes the text itself).
    """
    if not isinstance(metadata, dict):
        return None
    handed = metadata.pop(METADATA_KEY, None)
    if not isinstance(handed, dict) or handed.get("model") != model:
        return None
    try:
        raw = base64.b64decode(str(handed.get("vector")), validate=True)
        vector = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    except (ValueError, TypeError):
        return None
    if vector.shape != (dimensions,) or not np.all(np.isfinite(vector)):
        return None
    return vector


__all__ = ["METADATA_KEY", "pack", "take"]
