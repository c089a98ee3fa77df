"""``tier1 kb eval --tune``: the same tuning ``tier1 kb tune`` runs, on the training split only.

The groups are the articles ``evaluator.knowledge_file`` builds from the training split (title
plus question variants, whitespace-normalised exactly as imported), so the model is tuned on
what the throwaway knowledge base indexes and never sees a validation or test text. A run with
the same training texts, base model and options reuses the saved model.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from knowledge_base.embedder import SentenceTransformerEmbedder
from knowledge_base.evaluation.datasets import EvalData
from knowledge_base.evaluation.evaluator import knowledge_file
from knowledge_base.tuned_model import TunedManifest, read_manifest
from knowledge_base.tuning import TuningOptions, tune


def training_groups(data: EvalData) -> list[list[str]]:
    """Each training label's texts as the knowledge base indexes them (title first)."""
    content, _ = knowledge_file(data.train, data.oos_label)
    return [[a["title"], *a["questions"]] for a in content["articles"]]


def tuned_dir(data: EvalData, base_model: str, root: Path | str, options: TuningOptions) -> Path:
    """Where ``tune_on_train`` saves (and finds) the run for this split, model and options."""
    key = hashlib.sha1(
        json.dumps([base_model, asdict(options), training_groups(data)], ensure_ascii=False).encode()
    ).hexdigest()[:12]
    return Path(root) / f"tuned-{data.name}-{key}"


def tune_on_train(
    data: EvalData,
    base_model: str,
    root: Path | str,
    options: TuningOptions,
    *,
    progress: bool = True,
    batch_size: int = 64,
    models_dir: Path | None = None,
    **embedder_options,
) -> tuple[SentenceTransformerEmbedder, TunedManifest, bool]:
    """Tune ``base_model`` on ``data.train`` (or reuse an identical earlier run) under ``root``.

    ``embedder_options`` (``runtime``, ``threads``, ``cache_dir``) go to the returned embedder.

    Returns:
        (embedder over the tuned model, its manifest, whether it was reused).
    """
    groups = training_groups(data)
    out = tuned_dir(data, base_model, root, options)
    manifest = read_manifest(out, base_model)
    reused = manifest is not None
    if manifest is None:
        manifest = tune(groups, base_model, out, options, progress=progress, models_dir=models_dir)
    embedder = SentenceTransformerEmbedder(
        str(out), batch_size=batch_size, name=manifest.name, **embedder_options
    )
    return embedder, manifest, reused
