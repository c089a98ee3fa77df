"""The knowledge base's error hierarchy.

Messages say what was wrong and what to do about it. The errors know nothing of HTTP: the
app maps them to status codes in one place, at its edge (``tier1.http_errors``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class KnowledgeBaseError(Exception):
    """Base class of every error the knowledge base raises."""


class ArticleNotFound(KnowledgeBaseError):
    """The requested article does not exist (or was deleted)."""

    def __init__(self, article_id: int) -> None:
        super().__init__(
            f"article {article_id} does not exist; search the knowledge base or list the "
            "articles to find a valid id"
        )
        self.article_id = article_id


class InvalidQuery(KnowledgeBaseError):
    """A search request that cannot be answered as given (empty, too long, bad top_k)."""


@dataclass(frozen=True)
class FileProblem:
    """One thing wrong in a knowledge file.

    Attributes:
        article: the article's slug, or ``#<n>`` (1-based position) when it has no usable slug;
            None for problems with the file as a whole.
        field: the offending field (``title``, ``questions[2]``, ...), or None.
        message: what is wrong and what a valid value looks like.
        line: the 1-based line in the file where the article or field is, when known.
    """

    article: str | None
    field: str | None
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = [] if self.line is None else [f"line {self.line}"]
        if self.article is not None:
            where.append(f"article {self.article}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class KnowledgeFileError(KnowledgeBaseError):
    """A knowledge file cannot be imported; nothing from it was written.

    Attributes:
        file: the file that was read.
        problems: every problem found (the message lists the first few).
        article: the first problem's article (slug or ``#<n>``), or None.
        field: the first problem's field, or None.
        line: the first problem's line, or None.
    """

    _SHOWN = 10

    def __init__(
        self, file: Path | str, problems: list[FileProblem], valid: list | None = None
    ) -> None:
        if not problems:
            raise ValueError("KnowledgeFileError needs at least one problem")
        self.file = Path(file)
        self.problems = list(problems)
        # (position, ArticleSpec) of the articles that were valid, for an import preview.
        self.valid = list(valid or [])
        self.article = problems[0].article
        self.field = problems[0].field
        self.line = problems[0].line
        count = f"{len(problems)} problem{'' if len(problems) == 1 else 's'}"
        lines = [f"{self.file}: {count}; fix {'it' if len(problems) == 1 else 'them'} and import again:"]
        lines += [f"  - {p}" for p in problems[: self._SHOWN]]
        if len(problems) > self._SHOWN:
            lines.append(f"  ... and {len(problems) - self._SHOWN} more")
        super().__init__("\n".join(lines))


class InvalidArticle(KnowledgeBaseError):
    """An article sent to the admin API is invalid; ``problems`` lists what and where."""

    def __init__(self, problems: list[FileProblem]) -> None:
        self.problems = list(problems)
        super().__init__("the article is invalid: " + "; ".join(str(p) for p in problems))


class ArticleConflict(KnowledgeBaseError):
    """A write would give two articles the same slug (external id)."""


class UnsupportedFormat(KnowledgeBaseError):
    """An import or export format tier1 does not read or write."""


class EmbedderError(KnowledgeBaseError):
    """The embedding model could not be loaded or failed to encode."""


class VectorIndexError(KnowledgeBaseError):
    """An index file is broken or does not match what is expected of it.

    The service treats this as "rebuild the index from the stored vectors"; it only reaches
    a caller when a file is loaded directly.
    """


class UnsupportedBackend(KnowledgeBaseError):
    """A factory was asked for a backend ``type`` it does not know (a configuration error)."""


class NotReady(KnowledgeBaseError):
    """The service was used before ``start()`` finished."""


class StorageError(KnowledgeBaseError):
    """The knowledge base's database failed (unreachable, locked, schema problem)."""
