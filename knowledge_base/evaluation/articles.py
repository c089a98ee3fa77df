"""Evaluate a real knowledge base: an articles file, and queries labelled with their article.

The articles file is read as ``tier1 kb import`` reads it; each query is labelled with the
slug of the article that answers it.

This is the help-center case: articles have a title and an answer, usually no question
variants, and users ask in their own words. The knowledge base is built from the file exactly
as an import builds it (``KnowledgeBase.import_file``: titles, question variants only when the
file has them, passages of long answers), queries are ranked by ``search_many`` and decided by
``decide``. Thresholds are chosen on a validation part only — a second queries file, or a
seeded split of the queries stratified by slug — never on the test part.

Queries CSV: a text column and a slug column; a row whose slug is empty or the out-of-scope
label (``oos``) should be handed off.
"""

from __future__ import annotations

import csv
import difflib
import random
from dataclasses import dataclass
from pathlib import Path

from knowledge_base import ingest
from knowledge_base.evaluation.datasets import OOS, DatasetError, EvalData, LabelledSplit
from knowledge_base.knowledge_file import ArticleSpec

DEFAULT_VALIDATION_SHARE = 0.3


def read_articles(path: Path | str) -> list[ArticleSpec]:
    """The articles of ``path`` as ``tier1 kb import`` reads them (any import format).

    Raises:
        KnowledgeFileError, UnsupportedFormat: as ``ingest.read_source``.
    """
    return ingest.read_source(path)


def read_queries(
    path: Path | str,
    slugs: set[str] | frozenset[str],
    *,
    text_col: str = "text",
    slug_col: str = "slug",
    oos_label: str = OOS,
) -> LabelledSplit:
    """Read labelled queries; labels are article slugs, or ``oos_label`` for out-of-scope.

    An empty slug cell is out-of-scope too. Every problem is reported at once, by line.

    Raises:
        DatasetError: the file is unreadable, a column is missing, a text is empty, or a slug
            names no article of ``slugs`` (each named with its line and the slug).
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            missing = [c for c in (text_col, slug_col) if c not in header]
            if missing:
                raise DatasetError(
                    f"{path}: no column(s) {', '.join(missing)}; the header has {header}; "
                    "pass --text-col/--slug-col"
                )
            texts, labels, problems = [], [], []
            for line, row in enumerate(reader, start=2):
                text = " ".join((row.get(text_col) or "").split())
                slug = (row.get(slug_col) or "").strip()
                if not text:
                    problems.append(f"line {line}: empty {text_col!r}")
                    continue
                if not slug or slug == oos_label:
                    slug = oos_label
                elif slug not in slugs:
                    close = difflib.get_close_matches(slug, sorted(slugs), n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    problems.append(
                        f"line {line}: unknown article slug {slug!r}{hint}; use a slug of the "
                        f"articles file, or {oos_label!r} / an empty cell for out-of-scope"
                    )
                    continue
                texts.append(text)
                labels.append(slug)
    except OSError as e:
        raise DatasetError(f"{path}: cannot read it ({e.strerror}); check the path") from e
    except (csv.Error, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: not a readable UTF-8 CSV file ({e})") from e
    if problems:
        shown = problems[:20] + (
            [f"... and {len(problems) - 20} more"] if len(problems) > 20 else []
        )
        raise DatasetError(f"{path}: {len(problems)} bad row(s):\n  " + "\n  ".join(shown))
    if not texts:
        raise DatasetError(f"{path}: no queries; add rows with a {text_col!r} and a {slug_col!r}")
    return LabelledSplit(texts, labels)


def split_queries(
    queries: LabelledSplit, share: float, seed: int = 0
) -> tuple[LabelledSplit, LabelledSplit]:
    """(validation, test): ``share`` of each label's queries (rounded, seeded) go to validation.

    A label with one query keeps it in test. Order within each part follows the input.

    Raises:
        DatasetError: ``share`` is not strictly between 0 and 1.
    """
    if not 0 < share < 1:
        raise DatasetError(f"--validation-share must be between 0 and 1, got {share}")
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(queries.labels):
        by_label.setdefault(label, []).append(i)
    rng = random.Random(seed)
    val: set[int] = set()
    for label in sorted(by_label):
        idx = by_label[label]
        n = min(len(idx) - 1, round(share * len(idx)))
        val.update(rng.sample(idx, n) if n > 0 else [])
    pick = lambda keep: LabelledSplit(
        [t for i, t in enumerate(queries.texts) if keep(i)],
        [lab for i, lab in enumerate(queries.labels) if keep(i)],
    )
    return pick(lambda i: i in val), pick(lambda i: i not in val)


@dataclass(frozen=True)
class ArticlesEval:
    """What ``run_evaluation`` needs for an articles file: the data and the file to import."""

    data: EvalData
    articles: list[ArticleSpec]
    articles_file: Path
    validation: str  # where the validation part came from, for the report

    @property
    def question_variants(self) -> int:
        """How many question variants the articles file gives, over all articles."""
        return sum(len(s.questions) for s in self.articles)


def load_articles_eval(
    articles: Path | str,
    queries: Path | str,
    validation_queries: Path | str | None = None,
    *,
    validation_share: float = DEFAULT_VALIDATION_SHARE,
    seed: int = 0,
    text_col: str = "text",
    slug_col: str = "slug",
    oos_label: str = OOS,
) -> ArticlesEval:
    """Read the articles and the queries; carve the validation part when none is given.

    Raises:
        DatasetError: bad queries (see ``read_queries``) or share.
        KnowledgeFileError, UnsupportedFormat: a bad articles file.
    """
    specs = read_articles(articles)
    slugs = frozenset(s.slug for s in specs)
    read = lambda p: read_queries(
        p, slugs, text_col=text_col, slug_col=slug_col, oos_label=oos_label
    )
    test = read(queries)
    if validation_queries is not None:
        val, where = read(validation_queries), f"{validation_queries}"
    else:
        val, test = split_queries(test, validation_share, seed)
        where = f"{validation_share:.0%} of each slug's queries (seed {seed})"
    # The knowledge base IS the articles file; ``train`` only carries its slugs as labels.
    train = LabelledSplit([s.title for s in specs], [s.slug for s in specs])
    name = Path(articles).stem
    return ArticlesEval(EvalData(train, test, val, oos_label, name), specs, Path(articles), where)
