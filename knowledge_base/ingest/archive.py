"""ZIP: several article files imported together, all or nothing.

Every member is parsed with its own format; folders, hidden files and macOS resource
forks are skipped. Errors name ``archive.zip!member``. A slug in two members is an error.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import PurePosixPath

from knowledge_base.errors import FileProblem, KnowledgeFileError
from knowledge_base.knowledge_file import ArticleSpec

MAX_MEMBERS = 10_000
MAX_BYTES = 200 * 2**20  # uncompressed: refuses zip bombs


def parse_zip(
    data: bytes, source: str, parse_member: Callable[[str, bytes, str], list[ArticleSpec]]
) -> list[ArticleSpec]:
    """Validate every member's articles with ``parse_member``; raise KnowledgeFileError."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as e:
        raise KnowledgeFileError(
            source, [FileProblem(None, None, f"not a valid ZIP file: {e}")]
        ) from e
    members = [
        m
        for m in archive.infolist()
        if not m.is_dir()
        and not any(part.startswith((".", "__MACOSX")) for part in PurePosixPath(m.filename).parts)
    ]
    if len(members) > MAX_MEMBERS or sum(m.file_size for m in members) > MAX_BYTES:
        raise KnowledgeFileError(
            source,
            [
                FileProblem(
                    None,
                    None,
                    f"the archive is too large (at most {MAX_MEMBERS} files and "
                    f"{MAX_BYTES // 2**20} MB uncompressed); split it",
                )
            ],
        )
    if not members:
        raise KnowledgeFileError(source, [FileProblem(None, None, "the archive holds no files")])
    specs: list[ArticleSpec] = []
    first: dict[str, str] = {}
    problems: list[FileProblem] = []
    for member in sorted(members, key=lambda m: m.filename):
        name = f"{source}!{member.filename}"
        for spec in parse_member(member.filename, archive.read(member), name):
            if spec.slug in first:
                problems.append(
                    FileProblem(
                        spec.slug,
                        "slug",
                        f"also in {first[spec.slug]}; slugs must be unique across the archive",
                    )
                )
                continue
            first[spec.slug] = member.filename
            specs.append(spec)
    if problems:
        raise KnowledgeFileError(source, problems)
    return specs
