"""Writers for ``ingest.export``: what each reader reads back to the same articles."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

import yaml

from knowledge_base.ingest.csv_source import REQUIRED
from knowledge_base.knowledge_file import ARTICLE_KEYS, FORMAT_VERSION, ArticleSpec

CSV_COLUMNS = (*REQUIRED, *(k for k in ARTICLE_KEYS if k not in REQUIRED))


def to_yaml(specs: Sequence[ArticleSpec]) -> bytes:
    """The articles as a knowledge file (YAML, UTF-8)."""
    data = {"version": FORMAT_VERSION, "articles": [s.to_dict() for s in specs]}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100).encode("utf-8")


def to_json(specs: Sequence[ArticleSpec]) -> bytes:
    """The articles in the knowledge file's structure as JSON (UTF-8)."""
    data = {"version": FORMAT_VERSION, "articles": [s.to_dict() for s in specs]}
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def to_csv(specs: Sequence[ArticleSpec]) -> bytes:
    """The articles as CSV, one row each (questions one per line of the cell)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for spec in specs:
        row = spec.to_dict()
        row["tags"] = ", ".join(row.get("tags", []))
        row["questions"] = "\n".join(row.get("questions", []))
        writer.writerow([row.get(column) or "" for column in CSV_COLUMNS])
    return out.getvalue().encode("utf-8")


WRITERS = {"csv": to_csv, "json": to_json, "yaml": to_yaml, "yml": to_yaml}
