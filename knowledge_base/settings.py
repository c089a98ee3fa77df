"""Typed settings for the knowledge base (the `knowledge_base:` section of config.yml)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, root_validator

PACKAGED_MODEL = "packaged:all-MiniLM-L6-v2"


class _Strict(BaseModel):
    class Config:
        extra = "forbid"
        allow_mutation = False


class EmbedderSettings(_Strict):
    type: Literal["sentence-transformers", "hashing"] = "sentence-transformers"
    model: str = PACKAGED_MODEL
    batch_size: int = Field(64, ge=1, le=4096)
    dimensions: int = Field(384, ge=8, le=4096, description="only for the hashing embedder")


class IndexSettings(_Strict):
    type: Literal["faiss", "memory"] = "faiss"
    path: Path = Path("kb.faiss")


class DecisionSettings(_Strict):
    answer_threshold: float = Field(0.55, ge=-1.0, le=1.0)
    clarify_margin: float = Field(0.04, ge=0.0, le=2.0)
    clarify_max_options: int = Field(3, ge=2, le=10)


class KnowledgeBaseSettings(_Strict):
    embedder: EmbedderSettings = EmbedderSettings()
    index: IndexSettings = IndexSettings()
    decision: DecisionSettings = DecisionSettings()
    search_top_k: int = Field(5, ge=1, le=100)
    seed_file: Path | None = Path("knowledge_base/demo/articles.yml")

    @root_validator(skip_on_failure=True)
    def _top_k_covers_clarify(cls, values):  # noqa: N805 - pydantic validator
        if values["search_top_k"] < values["decision"].clarify_max_options:
            raise ValueError(
                "search_top_k must be >= decision.clarify_max_options "
                "(clarify offers candidates from the search hits)"
            )
        return values
