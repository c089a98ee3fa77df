"""Reading articles from files and writing them back: one entry point per direction.

Formats, picked by file extension (an unknown one is an error, never a guess):

- ``.yml``/``.yaml``: the knowledge file (``knowledge_base.knowledge_file``);
- ``.json``: the same structure as JSON, or a bare list of articles;
- ``.csv``: one article per row (``csv_source``);
- ``.md``/``.markdown``: one article per file, front matter and/or ``# Title`` (``markdown_source``);
- ``.html``/``.htm``: one article per page (``html_source``);
- ``.zip``: any of the above, imported together (``archive``).

Every format ends in ``knowledge_file.validate_articles``: the same rules and messages,
naming the file, the line and the field. A source with any problem yields nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from knowledge_base.errors import FileProblem, KnowledgeFileError, UnsupportedFormat
from knowledge_base.ingest import csv_source, html_source, json_source, markdown_source
from knowledge_base.knowledge_file import ArticleSpec, parse_knowledge_file

Parser = Callable[[str, str], list[ArticleSpec]]  # (text, source name) -> specs

_TEXT_PARSERS: dict[str, Parser] = {
    ".yml": lambda text, source: parse_knowledge_file(text, source),
    ".yaml": lambda text, source: parse_knowledge_file(text, source),
    ".json": json_source.parse,
    ".csv": csv_source.parse,
    ".md": markdown_source.parse,
    ".markdown": markdown_source.parse,
    ".html": html_source.parse,
    ".htm": html_source.parse,
}
IMPORT_EXTENSIONS = (*_TEXT_PARSERS, ".zip")
EXPORT_FORMATS = ("csv", "json", "yaml")


def read_source(path: Path | str) -> list[ArticleSpec]:
    """Read and validate the articles of a file of any supported format.

    Raises:
        KnowledgeFileError: unreadable or invalid (names file, line, field).
        UnsupportedFormat: an unknown extension.
    """
    path = Path(path)
    _check_extension(path.name)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise KnowledgeFileError(
            path, [FileProblem(None, None, f"cannot read the file: {e}")]
        ) from e
    return parse_source(path.name, data, source=str(path))


def parse_source(filename: str, data: bytes, source: str | None = None) -> list[ArticleSpec]:
    """Validate the articles in ``data``; ``filename``'s extension picks the format.

    Args:
        filename: the file's name; its extension picks the format.
        data: the file's bytes.
        source: how errors name the file (default ``filename``).

    Raises:
        KnowledgeFileError, UnsupportedFormat: as ``read_source``.
    """
    source = source or filename
    ext = _check_extension(filename)
    if ext == ".zip":
        from knowledge_base.ingest.archive import parse_zip

        return parse_zip(data, source, parse_member)
    return _TEXT_PARSERS[ext](decode(data, source), source)


def parse_member(filename: str, data: bytes, source: str) -> list[ArticleSpec]:
    """One file inside an archive (archives inside archives are refused)."""
    ext = Path(filename).suffix.lower()
    if ext not in _TEXT_PARSERS:
        raise KnowledgeFileError(
            source,
            [
                FileProblem(
                    None,
                    None,
                    f"unsupported file type {ext or '(none)'!r} in the archive; "
                    f"use {', '.join(_TEXT_PARSERS)}",
                )
            ],
        )
    return _TEXT_PARSERS[ext](decode(data, source), source)


def export(specs: Sequence[ArticleSpec], fmt: str) -> bytes:
    """``specs`` in ``fmt`` (csv, json, yaml); ``parse_source`` reads it back unchanged.

    Raises:
        UnsupportedFormat: another format.
    """
    from knowledge_base.ingest import writers

    try:
        writer = writers.WRITERS[fmt.lower()]
    except KeyError:
        raise UnsupportedFormat(
            f"cannot export as {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}"
        ) from None
    return writer(specs)


def decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise KnowledgeFileError(
            source, [FileProblem(None, None, f"not UTF-8 text (byte {e.start}); save it as UTF-8")]
        ) from e


def _check_extension(filename: str) -> str:
    ext = Path(filename).suffix.lower()
    if ext not in IMPORT_EXTENSIONS:
        raise UnsupportedFormat(
            f"{filename}: unsupported file type {ext or '(no extension)'!r}; import one of "
            f"{', '.join(IMPORT_EXTENSIONS)}"
        )
    return ext


__all__ = ["EXPORT_FORMATS", "IMPORT_EXTENSIONS", "export", "parse_source", "read_source"]
