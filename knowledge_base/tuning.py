"""Contrastive fine-tuning of the embedding model on the knowledge base's own question variants.

Two variants of the same article form a positive pair; the other pairs of the batch are the
negatives (``MultipleNegativesRankingLoss`` from sentence-transformers, symmetric: anchor ->
positive and positive -> anchor). A batch never holds two pairs of one article, so every
in-batch negative is a true negative. Training runs on CPU, bounded by epochs, steps and a
wall-clock budget, with a fixed seed.

The tuned model is saved beside the index (``<index file>.tuned-model/``, written to a temporary
directory and renamed into place) with a manifest (``tier1-tuning.json``: base model, KB
version, steps, date). ``embedder.create_embedder`` uses it automatically when the manifest
names the configured base model; its vectors live under their own model name, so switching
re-encodes every stored text (``KnowledgeBase.start`` / ``switch_embedder`` do that).
Importing this module loads nothing (torch and sentence-transformers are imported by ``tune``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.tuned_model import (  # noqa: F401 (part of this module's face)
    FORMAT,
    MANIFEST,
    TunedManifest,
    read_manifest,
    tuned_model_dir,
)

log = logging.getLogger(__name__)



class TuningError(KnowledgeBaseError):
    """Tuning cannot run: too few articles with two or more variants, or bad options."""


@dataclass(frozen=True)
class TuningOptions:
    """Knobs of one tuning run; training stops at whichever bound comes first.

    Attributes:
        epochs: passes over every variant as an anchor.
        max_steps: optimiser steps at most (None: as many as the epochs need).
        batch_size: pairs per step (at most one pair per article in a batch).
        budget_minutes: wall-clock limit for the training loop (None: no limit).
        lr: peak learning rate (AdamW, 10 % linear warm-up, then linear decay).
        max_seq_length: tokens per text; support questions are short and this bounds the cost.
        seed: fixes pairing, batching and initialisation order.
        scale: the loss's similarity scale (1 / temperature).
    """

    epochs: int = 1
    max_steps: int | None = None
    batch_size: int = 32
    budget_minutes: float | None = None
    lr: float = 5e-5
    max_seq_length: int = 64
    seed: int = 0
    scale: float = 20.0

    def __post_init__(self) -> None:
        problems = []
        if self.epochs < 1:
            problems.append(f"epochs must be >= 1, got {self.epochs}")
        if self.max_steps is not None and self.max_steps < 1:
            problems.append(f"max-steps must be >= 1, got {self.max_steps}")
        if self.batch_size < 2:
            problems.append(f"batch-size must be >= 2 (in-batch negatives), got {self.batch_size}")
        if self.budget_minutes is not None and self.budget_minutes <= 0:
            problems.append(f"budget-minutes must be > 0, got {self.budget_minutes}")
        if not 0 < self.lr < 1:
            problems.append(f"lr must be in (0, 1), got {self.lr}")
        if not 8 <= self.max_seq_length <= 512:
            problems.append(f"max_seq_length must be in 8..512, got {self.max_seq_length}")
        if problems:
            raise TuningError("; ".join(problems))


def training_pairs(groups: Sequence[Sequence[str]], seed: int) -> list[tuple[int, str, str]]:
    """One (group, anchor, positive) pair per text of every group with two or more texts.

    Texts count once each; the positive is another text of the same group, chosen with
    ``seed``.
    """
    rng = random.Random(seed)
    pairs = []
    for g, texts in enumerate(groups):
        unique = list(dict.fromkeys(t for t in texts if t and t.strip()))
        if len(unique) < 2:
            continue
        for i, anchor in enumerate(unique):
            j = rng.randrange(len(unique) - 1)
            pairs.append((g, anchor, unique[j + (j >= i)]))
    return pairs


def distinct_batches(
    pairs: Sequence[tuple[int, str, str]], batch_size: int, rng: random.Random
) -> list[list[int]]:
    """One epoch of batches (indices into ``pairs``), shuffled.

    Never two pairs of one group in a batch; a batch is shorter only when too few groups are
    left, and pairs that would make a batch of one are left out.
    """
    pool = list(range(len(pairs)))
    rng.shuffle(pool)
    batches = []
    while pool:
        batch, seen, rest = [], set(), []
        for i in pool:
            group = pairs[i][0]
            if len(batch) < batch_size and group not in seen:
                batch.append(i)
                seen.add(group)
            else:
                rest.append(i)
        if len(batch) < 2:  # a lone pair has no negatives: nothing to learn
            break
        batches.append(batch)
        pool = rest
    return batches


def tune(
    groups: Sequence[Sequence[str]],
    base_model: str,
    out_dir: Path | str,
    options: TuningOptions = TuningOptions(),
    *,
    kb_version: int | None = None,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
    models_dir: Path | str | None = None,
) -> TunedManifest:
    """Fine-tune ``base_model`` so texts of one group move together; save it to ``out_dir``.

    Args:
        groups: the question variants (title included) of each article.
        base_model: the embedder setting of the model to start from (``packaged:...`` or a
            directory); recorded in the manifest.
        out_dir: replaced atomically by the tuned model (temp directory + rename).
        options: the training options (epochs, batch size, learning rate, limits).
        kb_version: the knowledge-base version tuned on; recorded in the manifest.
        progress: show a progress bar.
        on_step: called after each step with (step, loss), e.g. for logging.
        models_dir: where ``installed:NAME`` base models live (``tier1 models install``).

    Raises:
        TuningError: fewer than two articles with two or more distinct variants.
        EmbedderError: the base model cannot be loaded.
    """
    from knowledge_base.embedder import SentenceTransformerEmbedder, resolve_model_path

    pairs = training_pairs(groups, options.seed)
    articles = len({g for g, _, _ in pairs})
    if articles < 2:
        raise TuningError(
            f"tuning needs at least two articles with two or more question variants each; "
            f"this knowledge base has {articles}: add question variants (or titles) first"
        )
    plan, per_epoch = _plan(pairs, options)

    import torch

    torch.manual_seed(options.seed)
    base = SentenceTransformerEmbedder(base_model, device="cpu", models_dir=models_dir)
    model = base._load_model()  # a private copy: training mutates it
    model.max_seq_length = options.max_seq_length
    steps, stopped_by, seconds = _train(model, pairs, plan, options, progress, on_step)
    model.eval()
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    base_dir = resolve_model_path(base_model, models_dir)
    fingerprint = hashlib.sha1(
        json.dumps(
            [str(base_dir), base_model, kb_version, steps, asdict(options), created, len(pairs)]
        ).encode()
    ).hexdigest()[:12]
    manifest = TunedManifest(
        base_model=base_model,
        kb_version=kb_version,
        steps=steps,
        pairs=len(pairs),
        articles=articles,
        epochs_done=round(steps / per_epoch, 3),
        stopped_by=stopped_by,
        seconds=round(seconds, 1),
        created=created,
        options=asdict(options),
        fingerprint=fingerprint,
    )
    _save(model, manifest, Path(out_dir))
    log.info(
        "tuned %s for %d step(s) (%.2f epochs, %d pairs, %d articles) in %.0f s: %s",
        base_model,
        steps,
        manifest.epochs_done,
        len(pairs),
        articles,
        seconds,
        out_dir,
    )
    return manifest


def _plan(pairs: list[tuple[int, str, str]], options: TuningOptions) -> tuple[list[list[int]], int]:
    """The batches of every epoch in order (cut at ``max_steps``), and the batches per epoch."""
    rng = random.Random(options.seed)
    epoch_batches = [
        distinct_batches(pairs, options.batch_size, rng) for _ in range(options.epochs)
    ]
    plan = [b for epoch in epoch_batches for b in epoch]
    if options.max_steps is not None:
        plan = plan[: options.max_steps]
    return plan, len(epoch_batches[0])


def _train(
    model,
    pairs: list[tuple[int, str, str]],
    plan: list[list[int]],
    options: TuningOptions,
    progress: bool,
    on_step: Callable[[int, float], None] | None,
) -> tuple[int, str, float]:
    """Run the plan until it ends or the budget is spent; return (steps, stopped_by, seconds)."""
    import torch
    from tqdm import tqdm

    loss_fn = _loss(model, options.scale)
    # The word-embedding table is half the parameters: freezing it halves the optimiser's work
    # and keeps rare words (seen in no variant) where the base model put them.
    for name, parameter in model.named_parameters():
        if "word_embeddings" in name:
            parameter.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=options.lr, weight_decay=0.01)
    total = len(plan)
    warm = max(1, total // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    prepare = getattr(model, "preprocess", None) or model.tokenize
    deadline = (
        time.monotonic() + 60 * options.budget_minutes if options.budget_minutes else float("inf")
    )
    model.train()
    started = time.perf_counter()
    steps, stopped_by = 0, "max_steps" if options.max_steps is not None else "epochs"
    bar = tqdm(total=total, desc="tuning", unit="step", disable=not progress)
    try:
        for batch in plan:
            if time.monotonic() >= deadline:
                stopped_by = "budget"
                break
            anchors = [pairs[i][1] for i in batch]
            positives = [pairs[i][2] for i in batch]
            loss = loss_fn([prepare(anchors), prepare(positives)], None)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimiser.step()
            schedule.step()
            steps += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}")
            if on_step is not None:
                on_step(steps, float(loss.item()))
    finally:
        bar.close()
    if steps == total and options.max_steps is not None and total < options.max_steps:
        stopped_by = "epochs"
    return steps, stopped_by, time.perf_counter() - started


def _loss(model, scale: float):
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    # Symmetric (anchor -> positive and positive -> anchor), each direction its own softmax.
    return MultipleNegativesRankingLoss(
        model,
        scale=scale,
        directions=("query_to_doc", "doc_to_query"),
        partition_mode="per_direction",
    )


def _save(model, manifest: TunedManifest, out_dir: Path) -> None:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f"{out_dir.name}.tmp-{os.getpid()}")
    old = out_dir.with_name(f"{out_dir.name}.old-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save(str(tmp))
    (tmp / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2), encoding="utf-8")
    if out_dir.exists():
        out_dir.rename(old)
    tmp.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)


def tune_knowledge_base(kb, options: TuningOptions = TuningOptions(), *, progress: bool = True):
    """``tier1 kb tune``: tune on ``kb``'s published articles and switch ``kb`` to the result.

    The model is saved beside the index; every stored text is re-encoded, the index rebuilt
    and saved.

    Other processes serving the same knowledge base pick the tuned model up when they restart.

    Returns:
        (the manifest, ``kb.status()`` after the switch).

    Raises:
        TuningError: the embedder is not a sentence-transformers model, or too few variants.
    """
    from knowledge_base.embedder import create_embedder

    settings = kb.settings.embedder
    if settings.type != "sentence-transformers":
        raise TuningError(
            f"tuning needs knowledge_base.embedder.type: sentence-transformers, "
            f"not {settings.type!r}"
        )
    out = tuned_model_dir(kb.index_path)
    manifest = tune(
        kb.question_groups(),
        settings.model,
        out,
        options,
        kb_version=kb.status()["version"],
        progress=progress,
        models_dir=settings.models_dir,
    )
    return manifest, kb.switch_embedder(create_embedder(settings, out), progress=progress)
