"""The widget's script (``/widget.js``) and its public config (``/api/widget/config``)."""

# No `from __future__ import annotations`: FastAPI resolves endpoint annotations at runtime.
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse

from handoff.deps import StaticDirDep, WidgetSettingsDep

router = APIRouter(tags=["chat"])


@router.get("/widget.js", include_in_schema=False)
async def widget_script(static_dir: StaticDirDep) -> FileResponse:
    # Short cache: an upgrade reaches embedding sites within minutes.
    return FileResponse(
        static_dir / "widget.js",
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.get(
    "/api/widget/config",
    summary="The widget's title, theme, texts and avatar (public)",
)
async def widget_config(settings: WidgetSettingsDep) -> dict[str, Any]:
    return settings.dict(
        include={
            "title", "subtitle", "avatar_url", "welcome_message", "position", "theme",
            "strings", "feedback_helpful_payload", "feedback_not_helpful_payload",
        }
    )


__all__ = ["router"]
