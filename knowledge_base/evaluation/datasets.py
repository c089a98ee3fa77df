"""Labelled question sets for evaluation: CSV files or the CLINC150 JSON layout.

A label is an article; its training texts become the article's question variants. Queries
whose label is the out-of-scope label (``oos``) have no article: the right decision for them
is a handoff.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from pathlib import Path

from knowledge_base.errors import KnowledgeBaseError

OOS = "oos"


class DatasetError(KnowledgeBaseError):
    """An evaluation data file is missing, malformed, or lacks a needed column or split."""


@dataclass(frozen=True)
class LabelledSplit:
    """Parallel lists of texts and their labels (``oos_label`` marks out-of-scope)."""

    texts: list[str]
    labels: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def __add__(self, other: LabelledSplit) -> LabelledSplit:
        return LabelledSplit(self.texts + other.texts, self.labels + other.labels)


@dataclass(frozen=True)
class EvalData:
    """A training split (the knowledge base), a test split and an optional validation split."""

    train: LabelledSplit
    test: LabelledSplit
    val: LabelledSplit | None = None
    oos_label: str = OOS
    name: str = "dataset"

    @property
    def labels(self) -> list[str]:
        """The in-scope labels (articles), sorted."""
        return sorted({label for label in self.train.labels if label != self.oos_label})


def read_csv_split(
    path: Path | str, text_col: str = "text", label_col: str = "label"
) -> LabelledSplit:
    """Read one CSV split.

    Raises:
        DatasetError: the file is missing, or a column is absent, or a row is empty.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in (text_col, label_col) if c not in (reader.fieldnames or [])]
            if missing:
                raise DatasetError(
                    f"{path}: no column(s) {', '.join(missing)}; the header has "
                    f"{reader.fieldnames}; pass --text-col/--label-col"
                )
            texts, labels = [], []
            for line, row in enumerate(reader, start=2):
                text, label = (row.get(text_col) or "").strip(), (row.get(label_col) or "").strip()
                if not text or not label:
                    raise DatasetError(f"{path}, line {line}: empty {text_col!r} or {label_col!r}")
                texts.append(text)
                labels.append(label)
    except OSError as e:
        raise DatasetError(f"{path}: cannot read it ({e.strerror}); check the path") from e
    return LabelledSplit(texts, labels)


def load_csv(
    train: Path | str,
    test: Path | str,
    val: Path | str | None = None,
    *,
    text_col: str = "text",
    label_col: str = "label",
    oos_label: str = OOS,
) -> EvalData:
    """Train/test(/val) CSV files with a text and a label column."""
    read = lambda p: read_csv_split(p, text_col, label_col)
    data = EvalData(
        read(train), read(test), read(val) if val else None, oos_label, Path(train).parent.name
    )
    if oos_label in data.train.labels:
        # Out-of-scope has no article to answer with; training on it would make it one.
        keep = [i for i, label in enumerate(data.train.labels) if label != oos_label]
        data = EvalData(
            LabelledSplit(
                [data.train.texts[i] for i in keep], [data.train.labels[i] for i in keep]
            ),
            data.test,
            data.val,
            oos_label,
            data.name,
        )
    return data


def load_clinc(path: Path | str, *, oos_train_in_val: bool = False) -> EvalData:
    """Load CLINC150's JSON (``data_full.json``).

    ``train`` is the KB, ``val + oos_val`` the validation split and ``test + oos_test`` the
    test split. ``oos_train`` is never in the KB (the product has no out-of-scope article);
    with ``oos_train_in_val`` it joins the validation split (``val + oos_val + oos_train``):
    twice the out-of-scope questions to place a threshold on, none of them a test question.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        split = lambda *keys: LabelledSplit(
            [t for k in keys for t, _ in raw[k]], [c for k in keys for _, c in raw[k]]
        )
        return EvalData(
            split("train"),
            split("test", "oos_test"),
            split("val", "oos_val", *(["oos_train"] if oos_train_in_val else [])),
            OOS,
            "clinc150",
        )
    except OSError as e:
        raise DatasetError(f"{path}: cannot read it ({e.strerror}); check the path") from e
    except (ValueError, KeyError, TypeError) as e:
        raise DatasetError(
            f"{path}: not the CLINC150 layout (a JSON object of splits train/val/test/oos_val/"
            f"oos_test, each a list of [text, intent]): {e}"
        ) from e


def sample(
    data: EvalData,
    limit_per_label: int | None,
    *,
    labels: int | None = None,
    oos_limit: int | None = None,
    seed: int = 0,
) -> EvalData:
    """A reproducible subset: at most ``limit_per_label`` texts per label in every split.

    Args:
        data: the dataset to cut down.
        limit_per_label: the cap per label and split; None keeps every text.
        labels: keep only this many in-scope labels (chosen at random); queries of dropped
            labels are removed, not turned into out-of-scope.
        oos_limit: at most this many out-of-scope queries per split (default: the same
            ``limit_per_label`` cap as any other label).
        seed: draws the kept labels and texts.
    """
    rng = random.Random(seed)
    kept = data.labels
    if labels is not None and labels < len(kept):
        kept = sorted(rng.sample(kept, labels))
    keep = set(kept)

    def cut(split: LabelledSplit | None) -> LabelledSplit | None:
        if split is None:
            return None
        by_label: dict[str, list[int]] = {}
        for i, label in enumerate(split.labels):
            if label in keep or label == data.oos_label:
                by_label.setdefault(label, []).append(i)
        chosen: list[int] = []
        for label, idx in by_label.items():
            limit = (
                oos_limit if label == data.oos_label and oos_limit is not None else limit_per_label
            )
            chosen += (
                idx
                if limit is None or len(idx) <= limit
                else random.Random(seed).sample(idx, limit)
            )
        chosen.sort()
        return LabelledSplit([split.texts[i] for i in chosen], [split.labels[i] for i in chosen])

    return EvalData(cut(data.train), cut(data.test), cut(data.val), data.oos_label, data.name)
