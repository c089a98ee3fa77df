"""Recently encoded questions: their vectors by model and text, bounded, least recent dropped.

A chat turn asks about one text twice: the app encodes it once before the turn goes to Rasa
(whose NLU reuses that vector) and the bot's knowledge-base search then finds it here instead
of encoding it again. Identical questions from different users (a help center's common ones)
hit it too. Keyed by the embedder's name, so a tuned or swapped model never reads another's.
"""

from __future__ import annotations

import threading

import numpy as np
from cachetools import LRUCache

DEFAULT_SIZE = 4096  # vectors (1.5 kB each for 384 dimensions)


class QueryVectors:
    """A thread-safe LRU of ``(model name, text) -> vector``."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._vectors: LRUCache[tuple[str, str], np.ndarray] = LRUCache(max(1, size))
        self._lock = threading.Lock()

    def get(self, model: str, text: str) -> np.ndarray | None:
        """The cached vector (read-only, now the most recent), or None."""
        with self._lock:
            return self._vectors.get((model, text))

    def put(self, model: str, text: str, vector: np.ndarray) -> None:
        """Cache a read-only copy of ``vector``, dropping the least recent beyond ``size``."""
        if self.size <= 0:
            return
        vector = np.array(vector, dtype=np.float32)  # a private, read-only copy
        vector.setflags(write=False)
        with self._lock:
            self._vectors[(model, text)] = vector

    def __len__(self) -> int:
        return len(self._vectors)


__all__ = ["DEFAULT_SIZE", "QueryVectors"]
