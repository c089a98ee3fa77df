"""Fixtures for the knowledge-base tests: a hashing embedder that counts its work, SQLite in
tmp_path, and a small knowledge file with clearly distinct topics."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

# pytest's default "prepend" import mode puts tests/ on sys.path, where tests/knowledge_base/
# would be picked up as a namespace package named `knowledge_base` and hide the real one (the
# editable install's finder runs after the path finder). With the repository root first on the
# path the regular package wins. Suite-wide fix: `pythonpath = ["."]` in pyproject.toml.
ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np
import pytest
import yaml
from sqlalchemy import create_engine, event

from knowledge_base import HashingEmbedder, KnowledgeBase, KnowledgeBaseSettings


class CountingEmbedder:
    """Wraps an embedder and records every text it is asked to encode."""

    def __init__(self, inner=None) -> None:
        self.inner = inner if inner is not None else HashingEmbedder(384)
        self.calls: list[list[str]] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dimensions(self) -> int:
        return self.inner.dimensions

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        self.calls.append(list(texts))
        return self.inner.encode(texts, progress=progress)

    @property
    def encoded(self) -> list[str]:
        return [t for call in self.calls for t in call]

    def reset(self) -> None:
        self.calls.clear()


ARTICLES = [
    {
        "slug": "reset-password",
        "title": "How do I reset my password?",
        "answer": "Tap Forgot password on the sign-in screen and follow the emailed link.",
        "url": "https://help.example.test/reset-password",
        "tags": ["account"],
        "questions": [
            "I forgot my password",
            "password reset link not arriving",
            "change my login password",
        ],
    },
    {
        "slug": "track-order",
        "title": "Where is my parcel?",
        "answer": "Open Orders in your account and follow the courier tracking link.",
        "tags": ["shop"],
        "questions": ["track my parcel delivery", "courier tracking number", "shipment status"],
    },
    {
        "slug": "refunds",
        "title": "How do refunds work?",
        "answer": "Refunds reach your card within 10 business days of our approval.",
        "questions": ["refund money back card", "refund timeline days"],
    },
    {
        "slug": "roaming",
        "title": "Can I use my phone abroad?",
        "answer": "Switch on roaming in the app before travelling.",
        "questions": ["roaming holiday travel abroad", "overseas travel roaming charges"],
    },
]


def write_kb_file(path: Path, articles: list[dict], version: int = 1) -> Path:
    path.write_text(
        yaml.safe_dump({"version": version, "articles": articles}, sort_keys=False), "utf-8"
    )
    return path


@pytest.fixture
def kb_settings() -> KnowledgeBaseSettings:
    return KnowledgeBaseSettings(
        embedder={"type": "hashing", "dimensions": 384}, index={"type": "memory"}, seed_file=None
    )


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'kb.db'}", future=True)

    @event.listens_for(engine, "connect")
    def _no_fsync(dbapi_connection, _record):
        # Durability of a throwaway test database is worth nothing; fsyncs cost seconds.
        dbapi_connection.execute("PRAGMA synchronous=OFF")
        dbapi_connection.execute("PRAGMA journal_mode=MEMORY")

    yield engine
    engine.dispose()


@pytest.fixture
def index_path(tmp_path) -> Path:
    return tmp_path / "state" / "kb.index"


@pytest.fixture
def make_kb(kb_settings, engine, index_path) -> Callable[..., KnowledgeBase]:
    """Start a KnowledgeBase on the shared SQLite file; each call is a new 'process'."""

    def make(embedder=None, *, settings=None, path=None, **kwargs) -> KnowledgeBase:
        kb = KnowledgeBase(
            settings or kb_settings,
            engine,
            path or index_path,
            embedder=embedder if embedder is not None else CountingEmbedder(),
            **kwargs,
        )
        kb.start()
        return kb

    return make


@pytest.fixture
def kb_file(tmp_path) -> Path:
    return write_kb_file(tmp_path / "articles.yml", ARTICLES)


@pytest.fixture
def n_indexed() -> int:
    """Questions the sample file indexes: each title plus each question."""
    return sum(1 + len(a["questions"]) for a in ARTICLES)


@pytest.fixture(scope="session")
def counting() -> type[CountingEmbedder]:
    return CountingEmbedder


@pytest.fixture
def articles() -> list[dict]:
    """A fresh deep copy of the sample articles, safe to edit."""
    return yaml.safe_load(yaml.safe_dump(ARTICLES))


@pytest.fixture
def write_file(tmp_path) -> Callable[..., Path]:
    def write(articles: list[dict], name: str = "edited.yml", version: int = 1) -> Path:
        return write_kb_file(tmp_path / name, articles, version)

    return write


@pytest.fixture(scope="session")
def real_embedder():
    """The packaged all-MiniLM-L6-v2, loaded once for every integration test that needs it."""
    from knowledge_base import SentenceTransformerEmbedder
    from knowledge_base.settings import PACKAGED_MODEL

    embedder = SentenceTransformerEmbedder(PACKAGED_MODEL, batch_size=64)
    embedder.load()
    return embedder
