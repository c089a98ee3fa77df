"""Articles as files: import (with a preview) and export (admins).

``/api/kb/import``, ``/api/kb/import/preview`` and ``/api/kb/export``.
"""

# No `from __future__ import annotations`: FastAPI resolves endpoint annotations at runtime.
from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile

from knowledge_base.deps import Admin, KnowledgeBaseDep, who
from knowledge_base.errors import FileProblem, KnowledgeFileError
from knowledge_base.ingest import IMPORT_EXTENSIONS
from knowledge_base.schemas import ExportFormat, ImportPreviewPublic, ImportReportPublic, Status

_MEDIA = {"csv": "text/csv", "json": "application/json", "yaml": "application/yaml"}
MAX_UPLOAD_BYTES = 50 * 2**20

admin_router = APIRouter()


@admin_router.post(
    "/import",
    response_model=ImportReportPublic,
    summary="Import articles from an uploaded file (upsert by slug; all or nothing)",
    description=f"Formats by extension: {', '.join(IMPORT_EXTENSIONS)}. A file with any "
    "problem imports nothing; the error names the file, line and field.",
)
def import_file(
    file: Annotated[UploadFile, File()], admin: Admin, kb: KnowledgeBaseDep
) -> dict:
    return kb.import_bytes(file.filename or "upload", _read(file), **who(admin)).to_dict()


@admin_router.post(
    "/import/preview",
    response_model=ImportPreviewPublic,
    summary="Check an upload before importing it: per-row actions and errors, nothing written",
    description="Each article of the file with what an import would do (create, update, "
    "unchanged) or its problems (line and field). `importable` is false while any problem "
    "exists. Same formats and limits as POST /api/kb/import.",
)
def preview_import(file: Annotated[UploadFile, File()], kb: KnowledgeBaseDep) -> dict:
    return kb.preview_bytes(file.filename or "upload", _read(file)).to_dict()


@admin_router.get(
    "/export",
    summary="Download every article as CSV, JSON or YAML (re-importable unchanged)",
    response_class=Response,
    responses={200: {"content": {m: {} for m in _MEDIA.values()}}},
)
def export(
    kb: KnowledgeBaseDep,
    format_: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.json,
    status_: Annotated[Status | None, Query(alias="status")] = None,
) -> Response:
    body = kb.export(format_.value, status_)
    return Response(
        body,
        media_type=_MEDIA[format_.value],
        headers={"Content-Disposition": f'attachment; filename="articles.{format_.value}"'},
    )


def _read(file: UploadFile) -> bytes:
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise KnowledgeFileError(
            file.filename or "upload",
            [FileProblem(None, None, f"larger than {MAX_UPLOAD_BYTES // 2**20} MB; split it")],
        )
    return data


__all__ = ["MAX_UPLOAD_BYTES", "admin_router"]
