"""Typed settings for the knowledge base (the `knowledge_base:` section of config.yml)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, root_validator, validator

PACKAGED_MODEL = "packaged:all-MiniLM-L6-v2"
# Where exported ONNX models are cached when nothing says otherwise (the app's settings put
# them under server.state_dir instead: tier1/settings.py).
DEFAULT_ONNX_CACHE_DIR = Path("~/.cache/tier1/onnx")


class _Strict(BaseModel):
    class Config:
        extra = "forbid"
        allow_mutation = False


class EmbedderSettings(_Strict):
    """Which embedder encodes questions (``embedder.create_embedder``).

    ``runtime`` onnx or torch only changes how a sentence-transformers model is run, not its
    vectors (cosine >= 0.9999), so switching between them needs no re-encoding. ``onnx`` exports
    the model once into ``cache_dir`` and runs it with ONNX Runtime on ``threads`` threads (see
    ``SentenceTransformerEmbedder`` for why 1). ``onnx-int8`` runs that export quantised to
    int8: faster, but its vectors differ (the embedder's name gets ``+int8``, so a switch
    re-encodes the stored vectors); it needs onnx >= 1.16.
    """

    type: Literal["sentence-transformers", "hashing"] = "sentence-transformers"
    model: str = PACKAGED_MODEL
    batch_size: int = Field(64, ge=1, le=4096)
    runtime: Literal["onnx", "onnx-int8", "torch"] = Field(
        "onnx",
        description="sentence-transformers: onnx (~5 ms per sentence on 1 thread), onnx-int8 "
        "(~1 ms, other vectors: re-encodes; benchmarks/QUALITY.md \"int8\") or torch (~12 ms; "
        "benchmarks/embed_latency.py); torch for models onnx cannot run",
    )
    threads: int = Field(
        1, ge=1, le=256, description="onnx, onnx-int8: ONNX Runtime threads per encode"
    )
    cache_dir: Path | None = Field(
        None,
        description="onnx, onnx-int8: where exported models are cached; null: "
        "<server.state_dir>/onnx in the app (~/.cache/tier1/onnx without it); a relative path is under server.state_dir",
    )
    models_dir: Path | None = Field(
        None,
        description="where `tier1 models install` puts encoders (installed:NAME); null: "
        "<server.state_dir>/encoders in the app (.tier1/encoders without it)",
    )
    dimensions: int = Field(384, ge=8, le=4096, description="only for the hashing embedder")

    @validator("cache_dir", "models_dir")
    def _expand_home(cls, v: Path | None) -> Path | None:
        return None if v is None else v.expanduser()

    @validator("model")
    def _known_model(cls, v: str) -> str:
        # Names are checked here, files when the model loads (a missing install names the
        # `tier1 models install` command then): knowledge_base/encoder_catalog.py.
        from knowledge_base import encoder_catalog

        for prefix in (encoder_catalog.PACKAGED_PREFIX, encoder_catalog.INSTALLED_PREFIX):
            if v.startswith(prefix):
                name = v[len(prefix) :]
                entry = encoder_catalog.ENCODERS.get(name)
                if entry is None or (prefix == encoder_catalog.PACKAGED_PREFIX) != entry.packaged:
                    known = ", ".join(e.setting for e in encoder_catalog.ENCODERS.values())
                    raise ValueError(
                        f"unknown model {v!r}; use one of {known} (`tier1 models list`) or a "
                        "local sentence-transformers directory"
                    )
        if not v.strip():
            raise ValueError("model must not be empty")
        return v


class IndexSettings(_Strict):
    """Which vector index holds the question vectors, and how HNSW is tuned.

    ``auto`` picks exact search (``faiss``, ``IndexFlatIP``) up to ``hnsw_above`` vectors and
    an HNSW graph (``hnsw``, ``IndexHNSWFlat``) above; ``faiss``/``hnsw`` force one; ``memory``
    is the numpy twin for tests.
    """

    type: Literal["auto", "faiss", "hnsw", "memory"] = "auto"
    path: Path = Path("kb.faiss")
    hnsw_above: int = Field(50_000, ge=0, description="auto: HNSW above this many vectors")
    hnsw_m: int = Field(32, ge=4, le=128, description="HNSW graph degree (memory vs. recall)")
    hnsw_ef_construction: int = Field(200, ge=8, le=2048)
    hnsw_ef_search: int = Field(128, ge=8, le=4096, description="search breadth (speed vs. recall)")


class ScoringThresholds(_Strict):
    """The thresholds of one scoring (scores of different scorings have different scales)."""

    answer_threshold: float = Field(..., ge=-1.0, le=1.0)
    clarify_margin: float | None = Field(None, ge=0.0, le=2.0, description="null: the default")


class DecisionSettings(_Strict):
    """When a search answers, asks the user to pick (clarify) or hands off (``decision.decide``).

    Below ``answer_threshold`` the question is handed off; confident articles scoring less
    than ``clarify_margin`` apart are offered as choices (at most ``clarify_max_options``).
    """

    answer_threshold: float = Field(0.55, ge=-1.0, le=1.0)
    clarify_margin: float = Field(0.04, ge=0.0, le=2.0)
    clarify_max_options: int = Field(3, ge=2, le=10)
    by_scoring: dict[Literal["max_cosine", "hybrid", "learned_head"], ScoringThresholds] = Field(
        default_factory=dict,
        description="thresholds for one scoring, over the two above; scoring.type auto switches "
        "scoring with the knowledge base's data and takes the thresholds of the one in use",
    )

    def for_scoring(self, scoring: str) -> DecisionSettings:
        """These settings with ``by_scoring[scoring]`` applied (unchanged when absent)."""
        override = self.by_scoring.get(scoring)
        if override is None:
            return self
        update = {"answer_threshold": override.answer_threshold}
        if override.clarify_margin is not None:
            update["clarify_margin"] = override.clarify_margin
        return self.copy(update=update)


class ScoringSettings(_Strict):
    """How an article's score is computed from its questions (``knowledge_base/scoring.py``).

    ``learned_head``: sqrt(p(article | query)) x best question cosine, p from a logistic
    regression fitted on the question vectors (plus their character n-grams when
    ``lexical_weight > 0``); ``max_cosine``: the best question cosine.
    Changing the type changes the score scale: recalibrate ``decision`` (tier1 kb calibrate).
    """

    type: Literal["max_cosine", "learned_head", "hybrid", "auto"] = "max_cosine"
    C: float = Field(10.0, gt=0, description="learned_head: inverse regularisation strength")
    max_iter: int = Field(300, ge=10, le=10_000, description="learned_head: optimiser iterations")
    lexical_weight: float = Field(
        0.0,
        ge=0,
        le=10,
        description="learned_head: weight of character 2-4-gram TF-IDF features beside the "
        "embedding (0 = embeddings only; 0.5 measured best, benchmarks/QUALITY.md)",
    )
    probability_exponent: float = Field(
        0.5,
        gt=0,
        le=4,
        description="learned_head: score = p(article | query) ** this x best cosine (0.5: "
        "sqrt). Lower leans on the cosine, higher on the head; it moves how many in-domain "
        "unknown questions are handed off (QUALITY.md, 'In-domain unknown questions'): "
        "recalibrate decision after a change",
    )
    bm25_weight: float = Field(
        0.2,
        ge=0,
        le=1,
        description="hybrid (and auto when it picks hybrid): score = (1 - w) x best cosine + w x "
        "BM25 (0-1) over the article's words; 0 in auto: never hybrid, max_cosine instead",
    )
    auto_min_phrasings: float = Field(
        1,
        ge=0,
        description="auto: learned_head once articles have this many question variants "
        "(median; attached questions count), else hybrid (scoring_choice.py)",
    )


class KnowledgeBaseSettings(_Strict):
    """The ``knowledge_base:`` section of config.yml: embedding, index, scoring and decision."""

    embedder: EmbedderSettings = EmbedderSettings()
    index: IndexSettings = IndexSettings()
    decision: DecisionSettings = DecisionSettings()
    scoring: ScoringSettings = ScoringSettings()
    search_top_k: int = Field(5, ge=1, le=100)
    passage_chars: int = Field(
        500, ge=100, le=5000, description="longer answers are also indexed as ~this-size passages"
    )
    index_answers: Literal["long", "always"] = Field(
        "long",
        description="long: only answers longer than passage_chars are indexed (as passages); "
        "always: every answer, a short one as one passage (benchmarks/QUALITY.md, articles "
        "without variants)",
    )
    seed_file: Path | None = Path("knowledge_base/demo/articles.yml")

    @root_validator(skip_on_failure=True)
    def _top_k_covers_clarify(cls, values):
        if values["search_top_k"] < values["decision"].clarify_max_options:
            raise ValueError(
                "search_top_k must be >= decision.clarify_max_options "
                "(clarify offers candidates from the search hits)"
            )
        return values
