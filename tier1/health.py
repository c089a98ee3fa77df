"""Health probes of the app server: liveness, readiness and the per-component report.

- ``GET /health/live``: 200 whenever the process serves HTTP; checks nothing else. For
  restart decisions (Kubernetes ``livenessProbe``, `tier1 run`'s watchdog): a missing Rasa is
  no reason to restart the app.
- ``GET /health/ready``: 200 only when the app has finished starting and the database, the
  knowledge base, every Rasa server and the action server are up; otherwise 503 with the same
  body as ``/health``. For start-up gating (`tier1 run` waits for it) and for load balancers
  and Kubernetes ``readinessProbe`` that should route only to a complete stack.
- ``GET /health``: the per-component report, always 200 (``status`` ``ok`` or ``degraded``);
  kept as it was for monitoring that reads the body.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import httpx
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.engine import Engine

from knowledge_base import KnowledgeBase

# How long one component's probe may take: a probe answers in about this at worst.
PROBE_TIMEOUT_SECONDS = 2.0


class ComponentState(BaseModel):
    """One component; more keys say what was seen (``detail``, ``status_code``, counts...)."""

    ok: bool

    class Config:
        extra = "allow"


class HealthReport(BaseModel):
    """The health report: overall status and each component's state."""

    status: Literal["ok", "degraded"] = Field(..., description="ok when every component is")
    version: str
    components: dict[str, ComponentState] = Field(
        ..., description="app, database, knowledge_base, rasa, action_server"
    )


class Liveness(BaseModel):
    """The liveness answer: the app server answers HTTP (and its version)."""

    status: Literal["ok"] = "ok"
    version: str


class HealthChecks:
    """Probes every component the app needs; never raises."""

    def __init__(
        self,
        ready: asyncio.Event,
        engine: Engine,
        kb: KnowledgeBase,
        rasa_urls: list[str],
        action_url: str,
        version: str,
    ) -> None:
        self.ready = ready
        self.engine = engine
        self.kb = kb
        self.rasa_urls = rasa_urls
        self.action_url = action_url
        self.version = version

    async def report(self) -> HealthReport:
        """Every component's state, probed concurrently."""
        started = self.ready.is_set()
        database, knowledge_base, rasa, action_server = await asyncio.gather(
            asyncio.to_thread(database_state, self.engine),
            asyncio.to_thread(kb_state, self.kb) if started else _starting(),
            rasa_state(self.rasa_urls),
            http_state(f"{self.action_url}/health"),
        )
        components = {
            "app": {"ok": started},
            "database": database,
            "knowledge_base": knowledge_base,
            "rasa": rasa,
            "action_server": action_server,
        }
        ok = all(c["ok"] for c in components.values())
        return HealthReport(
            status="ok" if ok else "degraded", version=self.version, components=components
        )


def create_router(checks: HealthChecks) -> APIRouter:
    """``/health``, ``/health/live`` and ``/health/ready`` (see the module docstring)."""
    router = APIRouter(tags=["ops"])

    @router.get("/health", summary="State of each component", response_model=HealthReport)
    async def health() -> HealthReport:
        return await checks.report()

    @router.get(
        "/health/live",
        summary="Liveness: the app server answers HTTP",
        description="200 whenever the process serves requests; checks no dependency. Restart "
        "the app when this fails (Kubernetes livenessProbe).",
        response_model=Liveness,
    )
    async def live() -> Liveness:
        return Liveness(version=checks.version)

    @router.get(
        "/health/ready",
        summary="Readiness: every component is up",
        description="200 when the app has started and the database, the knowledge base, every "
        "Rasa server and the action server are up; 503 otherwise, with the same body as "
        "`/health`. Send traffic only while this is 200 (Kubernetes readinessProbe, load "
        "balancers); `tier1 run` waits for it at start-up.",
        response_model=HealthReport,
        responses={503: {"model": HealthReport, "description": "a component is down"}},
    )
    async def ready() -> Any:
        report = await checks.report()
        if report.status == "ok":
            return report
        return JSONResponse(report.dict(), status_code=503)

    return router


async def _starting() -> dict[str, Any]:
    return {"ok": False, "detail": "starting"}


def database_state(engine: Engine) -> dict[str, Any]:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"ok": True, "dialect": engine.dialect.name}
    except Exception as e:  # noqa: BLE001 - health reports any failure as state
        return {"ok": False, "detail": str(e)}


def kb_state(kb: KnowledgeBase) -> dict[str, Any]:
    try:
        return {"ok": True, **kb.status()}
    except Exception as e:  # noqa: BLE001 - health reports any failure as state
        return {"ok": False, "detail": str(e)}


async def rasa_state(urls: list[str]) -> dict[str, Any]:
    """One Rasa server's state, or (several processes) all of theirs: ok when all are."""
    states = await asyncio.gather(*(http_state(f"{url}/") for url in urls))
    if len(states) == 1:
        return states[0]
    return {"ok": all(s["ok"] for s in states), "servers": list(states)}


async def http_state(url: str) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_SECONDS) as client:
            r = await client.get(url)
        return {"ok": r.status_code < 500, "status_code": r.status_code}
    except httpx.HTTPError as e:
        return {"ok": False, "detail": f"{type(e).__name__}: {e}"}


__all__ = ["HealthChecks", "HealthReport", "Liveness", "create_router"]
