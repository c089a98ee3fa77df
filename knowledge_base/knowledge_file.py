"""The human-editable knowledge file: parsing and validation into ``ArticleSpec``s.

Format (YAML; see ``knowledge_base/demo/articles.yml`` for a full example)::

    version: 1
    articles:
      - slug: reset-password          # required, lowercase-words-with-dashes, unique
        title: How do I reset my password?    # required; also indexed as a question
        answer: Open the app and ...  # required
        url: https://help.example/... # optional
        tags: [account]               # optional
        locale: en                    # optional (default en)
        status: published             # optional: draft | published (default) | archived
        questions:                    # optional list of user phrasings
          - I forgot my password

Every problem is collected and reported at once, naming the file, the line, the article
(slug, or ``#n`` when the slug itself is unusable) and the field. ``validate_article`` is
the one validation every import format (``knowledge_base.ingest``) and the admin API share.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knowledge_base.errors import FileProblem, KnowledgeFileError
from knowledge_base.passages import split_passages
from knowledge_base.records import ArticleStatus

FORMAT_VERSION = 1
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LOCALE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
MAX_SLUG, MAX_TITLE, MAX_URL, MAX_QUESTION, MAX_TAG = 200, 500, 2000, 1000, 50
ARTICLE_KEYS = ("slug", "title", "answer", "url", "tags", "locale", "status", "questions")


@dataclass(frozen=True)
class ArticleSpec:
    """One validated article as a source states it (text fields are whitespace-normalised).

    ``slug`` is the external id: imports upsert by it.
    """

    slug: str
    title: str
    answer: str
    url: str | None
    tags: tuple[str, ...]
    questions: tuple[str, ...]
    locale: str = "en"
    status: ArticleStatus = ArticleStatus.PUBLISHED

    def indexed_texts(self) -> list[str]:
        """The title first, then each distinct question (passages not included)."""
        texts = [self.title]
        for q in self.questions:
            if q not in texts:
                texts.append(q)
        return texts

    def indexed(self, passage_chars: int, short_answers: bool = False) -> list[tuple[str, str]]:
        """Every (kind, text) to index: the title, each distinct question, then passages.

        The answer is split into passages when it is longer than ``passage_chars`` — or
        always, as one passage when it is shorter, with ``short_answers`` (a text is indexed
        once).
        """
        out = [("title", self.title)] + [("question", q) for q in self.indexed_texts()[1:]]
        if short_answers or len(self.answer) > passage_chars:
            seen = {t for _, t in out}
            for passage in split_passages(self.answer, passage_chars):
                if passage not in seen:
                    seen.add(passage)
                    out.append(("passage", passage))
        return out

    def to_dict(self) -> dict[str, Any]:
        """The article as a knowledge-file mapping (optional fields only when set)."""
        out: dict[str, Any] = {"slug": self.slug, "title": self.title, "answer": self.answer}
        if self.url is not None:
            out["url"] = self.url
        if self.tags:
            out["tags"] = list(self.tags)
        if self.locale != "en":
            out["locale"] = self.locale
        if self.status is not ArticleStatus.PUBLISHED:
            out["status"] = self.status.value
        if self.questions:
            out["questions"] = list(self.questions)
        return out


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key repeated in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_knowledge_file(path: Path | str) -> list[ArticleSpec]:
    """Read and validate a knowledge file.

    Raises:
        KnowledgeFileError: the file is unreadable, not YAML, or any article is invalid.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise KnowledgeFileError(
            path, [FileProblem(None, None, f"cannot read the file: {e}")]
        ) from e
    return parse_knowledge_file(text, path)


def parse_knowledge_file(text: str, source: Path | str = "<knowledge file>") -> list[ArticleSpec]:
    """Validate knowledge-file YAML ``text``; ``source`` names it in errors."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise KnowledgeFileError(
            source,
            [
                FileProblem(
                    None, None, f"not valid YAML{where}: {problem}", mark.line + 1 if mark else None
                )
            ],
        ) from e
    problems: list[FileProblem] = []
    articles = _top_level(data, problems)
    lines = _yaml_lines(text)
    return validate_articles(
        [(raw, lines[n] if n < len(lines) else None) for n, raw in enumerate(articles)],
        source,
        problems,
    )


def validate_articles(
    rows: list[tuple[Any, Any]], source: Path | str, problems: list[FileProblem] | None = None
) -> list[ArticleSpec]:
    """Validate parsed articles of one source; every format's parser ends here.

    Args:
        rows: (article mapping, where) pairs; ``where`` is the article's line number, or a
            ``{field: line}`` mapping with the article's own line under ``None``, or None.
        source: names the file in errors.
        problems: problems already found in the source as a whole.

    Raises:
        KnowledgeFileError: any problem at all (so a bad source imports nothing).
    """
    problems = list(problems or [])
    specs: list[ArticleSpec] = []
    positions: list[int] = []
    first_seen: dict[str, int] = {}
    for n, (raw, where) in enumerate(rows, start=1):
        spec = validate_article(raw, n, problems, where)
        if spec is None:
            continue
        if spec.slug in first_seen:
            problems.append(
                FileProblem(
                    spec.slug,
                    "slug",
                    f"duplicate slug (article #{n} repeats article #{first_seen[spec.slug]}); "
                    "slugs must be unique: rename one or merge the two",
                    _line(where, "slug"),
                )
            )
            continue
        first_seen[spec.slug] = n
        specs.append(spec)
        positions.append(n)
    if problems:
        raise KnowledgeFileError(source, problems, valid=list(zip(positions, specs)))
    return specs


def _yaml_lines(text: str) -> list[dict[Any, int]]:
    """Per article of ``articles:``: {field: 1-based line}, the article's own line under None."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if getattr(key, "value", None) == "articles" and isinstance(value, yaml.SequenceNode):
            out = []
            for item in value.value:
                lines: dict[Any, int] = {None: item.start_mark.line + 1}
                if isinstance(item, yaml.MappingNode):
                    lines.update((k.value, k.start_mark.line + 1) for k, _ in item.value)
                out.append(lines)
            return out
    return []


def _line(where: Any, field: str | None) -> int | None:
    if isinstance(where, dict):
        key = field.split("[", 1)[0] if field else None
        return where.get(key, where.get(None))
    return where


def _top_level(data: Any, problems: list[FileProblem]) -> list[Any]:
    if not isinstance(data, dict):
        problems.append(
            FileProblem(None, None, "expected a mapping with 'version: 1' and an 'articles:' list")
        )
        return []
    for key in sorted(set(data) - {"version", "articles"}, key=str):
        problems.append(
            FileProblem(
                None, str(key), "unknown top-level key; only version and articles are allowed"
            )
        )
    if data.get("version") != FORMAT_VERSION:
        problems.append(
            FileProblem(None, "version", f"must be {FORMAT_VERSION} (got {data.get('version')!r})")
        )
    articles = data.get("articles")
    if not isinstance(articles, list):
        problems.append(FileProblem(None, "articles", "must be a list of articles"))
        return []
    return articles


def validate_article(
    raw: Any, n: int, problems: list[FileProblem], where: Any = None
) -> ArticleSpec | None:
    """Validate one article mapping (the ``n``-th of its source); append its problems.

    Returns:
        The spec, or None when anything is wrong (the problems say what).
    """
    if not isinstance(raw, dict):
        problems.append(
            FileProblem(
                f"#{n}", None, "must be a mapping with slug, title, answer, ...", _line(where, None)
            )
        )
        return None
    found: list[FileProblem] = []
    slug = raw.get("slug")
    name = slug if slug_error(slug) is None else f"#{n}"

    def bad(field: str, message: str) -> None:
        found.append(FileProblem(name, field, message, _line(where, field)))

    for key in raw:
        if key not in ARTICLE_KEYS:
            bad(str(key), f"unknown field; allowed fields are {', '.join(ARTICLE_KEYS)}")
    slug_problem = slug_error(slug)
    if slug_problem is not None:
        bad("slug", slug_problem)
    title = _text(raw.get("title"), "title", MAX_TITLE, bad, required=True)
    answer = _text(raw.get("answer"), "answer", None, bad, required=True, keep_lines=True)
    url = raw.get("url")
    if url is not None and (
        not isinstance(url, str) or not re.match(r"^https?://\S+$", url) or len(url) > MAX_URL
    ):
        bad("url", "must be an http(s) URL without spaces, or left out")
    tags = _text_list(raw.get("tags"), "tags", MAX_TAG, bad)
    questions = _text_list(raw.get("questions"), "questions", MAX_QUESTION, bad)
    locale = raw.get("locale", "en")
    if not isinstance(locale, str) or not LOCALE.match(locale):
        bad("locale", "must be a language tag such as en, de or pt-BR")
    status = raw.get("status", ArticleStatus.PUBLISHED.value)
    if status not in {s.value for s in ArticleStatus}:
        bad("status", f"must be one of {', '.join(s.value for s in ArticleStatus)}")
    problems.extend(found)
    if found:
        return None
    return ArticleSpec(
        slug,
        title,
        answer,
        url,
        tuple(dict.fromkeys(tags)),
        tuple(questions),
        locale,
        ArticleStatus(status),
    )


SLUG_RULE = "lowercase letters and digits in words joined by single dashes"


def slug_error(slug: Any) -> str | None:
    """What is wrong with ``slug`` as an article's external id, or None when it is valid.

    A missing slug is "required"; a present but malformed one is "not a valid slug", with the
    rule and an example made from it when possible.
    """
    if slug is None or (isinstance(slug, str) and not slug.strip()):
        return f"required: {SLUG_RULE}, e.g. 'reset-password'"
    if not isinstance(slug, str):
        return f"must be text, got {type(slug).__name__}; use {SLUG_RULE}"
    if len(slug) > MAX_SLUG:
        return f"is {len(slug)} characters long; the limit is {MAX_SLUG}"
    if SLUG.match(slug):
        return None
    example = slugify(slug) or "reset-password"
    return f"{slug!r} is not a valid slug: use {SLUG_RULE}, e.g. {example!r}"


def slugify(text: str) -> str:
    """A valid slug made of ``text``'s ASCII letters and digits ("" when it has none)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    return "-".join(words)[:MAX_SLUG].strip("-")


def _text(
    value: Any, field: str, limit: int | None, bad, *, required: bool, keep_lines: bool = False
) -> str:
    if value is None:
        if required:
            bad(field, "required: a non-empty text")
        return ""
    if not isinstance(value, str):
        bad(field, f"must be text, got {type(value).__name__} (quote it)")
        return ""
    text = value.strip() if keep_lines else " ".join(value.split())
    if not text:
        bad(field, "must not be empty")
    elif limit is not None and len(text) > limit:
        bad(field, f"is {len(text)} characters long; the limit is {limit}")
    return text


def _text_list(value: Any, field: str, limit: int, bad) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        bad(field, "must be a list (one '- item' per line)")
        return []
    return [_text(item, f"{field}[{i}]", limit, bad, required=True) for i, item in enumerate(value)]
