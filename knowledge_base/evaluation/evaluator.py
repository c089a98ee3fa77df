"""Evaluate the knowledge base on labelled data, through the product's own code path.

A throwaway knowledge base (temporary SQLite file + index) is built from the training split
with ``KnowledgeBase.import_file`` — one article per label, its texts as question variants —
and queries are ranked with ``KnowledgeBase.search_many``: the same embedder, index, scoring
and ranking the bot uses. Decisions are taken later by ``decide`` (see ``metrics``).
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from sqlalchemy import create_engine, event

from knowledge_base.embedder import Embedder
from knowledge_base.evaluation.datasets import EvalData, LabelledSplit
from knowledge_base.evaluation.metrics import Candidate, Prediction
from knowledge_base.service import KnowledgeBase
from knowledge_base.settings import KnowledgeBaseSettings

_BATCH = 256


@dataclass
class EvalRun:
    """Ranked predictions for the test (and validation) split, with timings in seconds."""

    test: list[Prediction]
    val: list[Prediction] | None
    articles: int
    variants: int
    build_seconds: float
    search_seconds: float
    searched: int
    extra: dict = field(default_factory=dict)

    @property
    def ms_per_query(self) -> float:
        """Wall time of search_many per query (encoding + index + scoring), batched."""
        return 1000 * self.search_seconds / self.searched if self.searched else 0.0


def knowledge_file(train: LabelledSplit, oos_label: str) -> tuple[dict, dict[str, str]]:
    """The knowledge file for a training split, and slug -> label.

    The first text of a label is the article's title (indexed like any question), the rest
    its questions: every indexed text is a training text, nothing is invented.
    """
    by_label: dict[str, list[str]] = {}
    for text, label in zip(train.texts, train.labels):
        if label != oos_label:
            by_label.setdefault(label, []).append(" ".join(text.split()))
    articles, slug_label, used = [], {}, set()
    for label in sorted(by_label):
        base = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:180] or "label"
        slug, n = base, 1
        while slug in used:
            n += 1
            slug = f"{base}-{n}"
        used.add(slug)
        slug_label[slug] = label
        texts = list(dict.fromkeys(t for t in by_label[label] if t))
        articles.append(
            {
                "slug": slug,
                "title": texts[0],
                "answer": f"Answer for {label}.",
                "questions": texts[1:],
            }
        )
    return {"version": 1, "articles": articles}, slug_label


def run_evaluation(
    data: EvalData,
    settings: KnowledgeBaseSettings,
    *,
    embedder: Embedder | None = None,
    progress: bool = True,
    include_val: bool = True,
    top_k: int | None = None,
    single_queries: int = 0,
    knowledge: tuple[dict, dict[str, str]] | None = None,
    articles_file: Path | None = None,
) -> EvalRun:
    """Build a throwaway KB from ``data.train`` and rank ``data.test`` (and ``data.val``).

    Args:
        data: the labelled splits; ``train`` becomes the knowledge base.
        settings: the knowledge-base settings under test (embedder, index, scoring); the
            index path and seed file are replaced by temporary ones.
        embedder: overrides the configured embedder (e.g. a ``CachedEmbedder``).
        progress: show progress bars.
        include_val: also rank ``data.val`` (when there is one).
        top_k: how many hits per query (default: the settings' ``search_top_k``).
        single_queries: also time ``KnowledgeBase.search`` one query at a time on this many
            test texts (``extra["single_query_ms"]``: p50 and p95).
        knowledge: ``(knowledge file content, slug -> label)`` to import instead of the one
            built from ``data.train`` (e.g. real articles with some questions held out).
        articles_file: an articles file to import as it is (any ``tier1 kb import`` format)
            instead; ``data.train.labels`` are then its slugs, and labels are slugs.
    """
    with tempfile.TemporaryDirectory(prefix="tier1-eval-") as tmp:
        work = Path(tmp)
        kb_settings = settings.copy(
            update={
                "seed_file": None,
                "index": settings.index.copy(update={"path": Path("kb.index")}),
            }
        )
        engine = create_engine(f"sqlite:///{work / 'kb.db'}", future=True)

        @event.listens_for(engine, "connect")
        def _fast(dbapi_connection, _record):
            # A throwaway database: durability is worth nothing, fsyncs cost minutes.
            dbapi_connection.execute("PRAGMA synchronous=OFF")
            dbapi_connection.execute("PRAGMA journal_mode=MEMORY")

        try:
            if articles_file is not None:
                path, slug_label = Path(articles_file), {s: s for s in data.train.labels}
            else:
                content, slug_label = knowledge or knowledge_file(data.train, data.oos_label)
                path = work / "articles.yml"
                path.write_text(
                    yaml.safe_dump(content, sort_keys=False, allow_unicode=True), "utf-8"
                )
            started = time.perf_counter()
            kb = KnowledgeBase(kb_settings, engine, work / "kb.index", embedder=embedder)
            kb.start()
            kb.import_file(path, progress=progress)
            build_seconds = time.perf_counter() - started
            status = kb.status()

            def rank(split: LabelledSplit, desc: str) -> tuple[list[Prediction], float]:
                return _rank(kb, split, desc, top_k, slug_label, progress)

            test, seconds = rank(data.test, "test queries")
            val = None
            searched = len(data.test)
            if include_val and data.val is not None:
                val, val_seconds = rank(data.val, "validation queries")
                seconds += val_seconds
                searched += len(data.val)
            extra = {"scoring": kb.scoring}
            if single_queries:
                extra["single_query_ms"] = _single_query_ms(
                    kb, data.test.texts[:single_queries], top_k
                )
            return EvalRun(
                test=test,
                val=val,
                articles=status["articles"],
                variants=status["questions"],
                build_seconds=build_seconds,
                search_seconds=seconds,
                searched=searched,
                extra=extra,
            )
        finally:
            engine.dispose()


def _rank(
    kb: KnowledgeBase,
    split: LabelledSplit,
    desc: str,
    top_k: int | None,
    slug_label: dict[str, str],
    progress: bool,
) -> tuple[list[Prediction], float]:
    """Search ``split``'s texts in batches: the predictions and the seconds it took."""
    from tqdm import tqdm

    out: list[Prediction] = []
    started = time.perf_counter()
    bar = tqdm(total=len(split), desc=desc, unit="q", disable=not progress, leave=False)
    for i in range(0, len(split), _BATCH):
        texts = split.texts[i : i + _BATCH]
        results = kb.search_many(texts, top_k)
        for text, label, result in zip(texts, split.labels[i : i + _BATCH], results):
            hits = tuple(
                Candidate(h.article_id, slug_label[h.slug], h.score) for h in result.hits
            )
            out.append(Prediction(text, label, hits))
        bar.update(len(texts))
    bar.close()
    return out, time.perf_counter() - started


def _single_query_ms(kb: KnowledgeBase, texts: list[str], top_k: int | None) -> dict:
    """``KnowledgeBase.search`` timed one query at a time: p50 and p95 in ms, and n."""
    timings = []
    for text in texts:
        t0 = time.perf_counter()
        kb.search(text, top_k)
        timings.append(1000 * (time.perf_counter() - t0))
    return {
        "p50": float(np.percentile(timings, 50)),
        "p95": float(np.percentile(timings, 95)),
        "n": len(timings),
    }
