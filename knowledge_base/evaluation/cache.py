"""``CachedEmbedder``: remembers vectors by text in one .npz file, for repeated benchmarks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from knowledge_base.embedder import Embedder


class CachedEmbedder:
    """Wraps an embedder; texts seen before (in this run or a saved cache) are not re-encoded.

    The cache file is keyed by the caller (dataset + model); vectors are those of ``inner``,
    so ``name`` and ``dimensions`` are the inner embedder's and stored KB vectors stay valid.
    Call ``save()`` to write new vectors back.
    """

    def __init__(self, inner: Embedder, path: Path | str) -> None:
        self.inner = inner
        self.path = Path(path)
        self._vectors: dict[str, np.ndarray] = {}
        self._dirty = False
        if self.path.exists():
            with np.load(self.path, allow_pickle=False) as data:
                self._vectors = dict(zip(data["texts"].tolist(), data["vectors"]))

    @property
    def name(self) -> str:
        """The inner embedder's name."""
        return self.inner.name

    @property
    def dimensions(self) -> int:
        """The inner embedder's vector size."""
        return self.inner.dimensions

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """The vectors of ``texts`` (float32, in order); only texts not cached are encoded."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            self._vectors.update(zip(missing, self.inner.encode(missing, progress=progress)))
            self._dirty = True
        if not texts:
            return np.zeros((0, self.dimensions), np.float32)
        return np.vstack([self._vectors[t] for t in texts]).astype(np.float32)

    def save(self) -> None:
        """Write the cache (temp file + rename) if anything new was encoded."""
        if not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        texts = list(self._vectors)
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(tmp, texts=np.array(texts), vectors=np.vstack([self._vectors[t] for t in texts]))
        tmp.replace(self.path)
        self._dirty = False
