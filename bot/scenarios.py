"""Dialogue evaluation: multi-turn scenarios in YAML, run against a live tier1 stack.

A scenario is what a user says and what the bot must do in reply, turn by turn. It talks to the
app server exactly as the chat widget does (socket.io, rasa-webchat events) and plays the agent
through the HTTP API, so what passes here is what users get. ``tier1 scenarios run`` runs every
``bot/scenarios/*.yml`` and prints pass/fail per scenario.

File format (``bot/scenarios/*.yml``)::

    scenarios:
      - name: a question is answered and the user is glad   # unique
        steps:
          - user: I forgot my password          # typed text, or a payload like /affirm
            expect: {answer: reset-password}    # the article's slug; implies "Did this help?"
          - user: /feedback_helpful
            expect: {says: glad}                # a substring of a reply (case-insensitive)

Steps: ``user: <text>``, ``choose: <slug>`` (click that clarify button), ``agent: claim |
handback | resolve`` or ``agent: {say: <text>}``. Expectations (all optional, all must hold):
``answer: <slug>``, ``clarify: [<slug>, ...]`` (or ``true``), ``offer: true`` (Shall I connect
you?), ``handoff: <reason>`` (queued with that reason), ``status: <status>``, ``says: <text>``,
``not_says: <text>``, ``silent: true`` (no reply at all).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import yaml
from pydantic import BaseModel, Field, ValidationError, root_validator, validator

KEEPALIVE_SECONDS = 2.0  # below uvicorn's 5 s keep-alive timeout (see run_scenarios)
SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
OFFER_PAYLOADS = {"/affirm", "/deny"}
FEEDBACK_PAYLOADS = {"/feedback_helpful", "/feedback_not_helpful"}
NONE_OF_THESE_PAYLOAD = "/none_of_these"
CHOOSE_PREFIX = "/choose_article"


class ScenarioError(Exception):
    """A scenario file is invalid, or the stack cannot be reached; the message says which."""


class _Strict(BaseModel):
    class Config:
        """Pydantic options: unknown keys are errors, values read-only."""

        extra = "forbid"
        allow_mutation = False


class Expect(_Strict):
    """What must hold after a step (all optional, all must hold; see the module)."""

    answer: str | None = None
    clarify: list[str] | bool | None = None
    offer: bool | None = None
    handoff: str | None = None
    status: Literal["bot", "queued", "assigned", "resolved"] | None = None
    says: str | None = None
    not_says: str | None = None
    silent: bool = False

    @root_validator(skip_on_failure=True)
    def _silent_alone(cls, values: dict[str, Any]) -> dict[str, Any]:
        talkative = ("answer", "clarify", "offer", "says")
        if values.get("silent") and any(values.get(k) for k in talkative):
            raise ValueError("silent: true cannot be combined with answer/clarify/offer/says")
        return values


class AgentSay(_Strict):
    """An agent step that sends ``say`` to the user."""

    say: str


class Step(_Strict):
    """One turn: exactly one of ``user``, ``choose`` or ``agent``, then its expectations."""

    user: str | None = None
    choose: str | None = None
    agent: Literal["claim", "handback", "resolve"] | AgentSay | None = None
    expect: Expect = Expect()

    @validator("user", "choose", pre=True)
    def _text(cls, v: Any) -> Any:
        # YAML reads a bare yes/no/on/off as a boolean: the user typed text, so insist on it.
        if v is not None and not isinstance(v, str):
            raise ValueError(f"must be text; quote it (e.g. 'no') — YAML read it as {v!r}")
        return v

    @root_validator(skip_on_failure=True)
    def _one_action(cls, values: dict[str, Any]) -> dict[str, Any]:
        given = [k for k in ("user", "choose", "agent") if values.get(k) is not None]
        if len(given) != 1:
            raise ValueError("each step needs exactly one of user, choose, agent")
        return values


class Scenario(_Strict):
    """A named conversation: its steps in order."""

    name: str = Field(..., min_length=1)
    description: str = ""
    steps: list[Step] = Field(..., min_items=1)


class ScenarioFile(_Strict):
    """One ``bot/scenarios/*.yml`` file: its scenarios, names unique."""

    scenarios: list[Scenario]

    @validator("scenarios")
    def _unique_names(cls, v: list[Scenario]) -> list[Scenario]:
        names = [s.name for s in v]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate scenario names: {', '.join(dupes)}")
        return v


def load_scenarios(paths: list[Path] | None = None) -> list[Scenario]:
    """Every scenario of ``paths`` (default: all of ``bot/scenarios/*.yml``), in file order.

    Raises:
        ScenarioError: a file is missing, not YAML, or not in the format above (names the file
            and the key), or two scenarios share a name.
    """
    files = paths if paths else sorted(SCENARIO_DIR.glob("*.yml"))
    if not files:
        raise ScenarioError(f"no scenario files found in {SCENARIO_DIR}")
    scenarios: list[Scenario] = []
    for path in files:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
            scenarios += ScenarioFile.parse_obj(data).scenarios
        except FileNotFoundError as e:
            raise ScenarioError(f"{path}: not found") from e
        except yaml.YAMLError as e:
            raise ScenarioError(f"{path}: not valid YAML: {e}") from e
        except ValidationError as e:
            raise ScenarioError(f"{path}: {e}") from e
    names = [s.name for s in scenarios]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ScenarioError(f"duplicate scenario names across files: {', '.join(dupes)}")
    return scenarios


@dataclass
class ScenarioResult:
    """How one scenario went: passed, the failed expectations, and the transcript."""

    name: str
    passed: bool
    failures: list[str] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Timing:
    """How long to wait, in seconds.

    A reply must start within ``reply`` s; it has ended after ``settle`` s without a new
    message; ``silence`` s without any message count as silence.
    """

    reply: float = 30.0
    settle: float = 0.7
    silence: float = 3.0


class _Widget:
    """The chat widget's side of the socket (rasa-webchat events)."""

    def __init__(self, url: str) -> None:
        import socketio

        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.conversation_id = ""
        self._count = 0
        self.sio.on("bot_uttered", self.inbox.put)

    async def connect(self) -> str:
        confirmed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.sio.on("session_confirm", lambda sid: confirmed.done() or confirmed.set_result(sid))
        await self.sio.connect(self.url, socketio_path="socket.io", transports=["websocket"])
        await self.sio.emit("session_request", {"session_id": None})
        sid = await asyncio.wait_for(confirmed, 15)
        self.conversation_id = sid["session_id"] if isinstance(sid, dict) else sid
        return self.conversation_id

    async def say(self, text: str) -> None:
        self._count += 1
        ack = await self.sio.call(
            "user_uttered",
            {"message": text, "session_id": self.conversation_id, "client_id": f"s{self._count}"},
            timeout=30,
        )
        if not (isinstance(ack, dict) and ack.get("ok")):
            raise ScenarioError(f"the server did not accept {text!r}: {ack}")

    async def collect(self, first: float, settle: float) -> list[dict[str, Any]]:
        """Messages until ``settle`` s pass without one (waiting ``first`` s for the first)."""
        got: list[dict[str, Any]] = []
        wait = first
        while True:
            try:
                got.append(await asyncio.wait_for(self.inbox.get(), wait))
            except asyncio.TimeoutError:
                return got
            wait = settle

    async def close(self) -> None:
        await self.sio.disconnect()


class _Checker:
    """Checks one step's expectations against the replies and the conversation's state."""

    def __init__(self, api: httpx.AsyncClient) -> None:
        self.api = api
        self._slugs: dict[int, str] = {}

    async def slug(self, article_id: int) -> str:
        if article_id not in self._slugs:
            r = await self.api.get(f"/api/kb/articles/{article_id}")
            self._slugs[article_id] = r.json().get("slug", "?") if r.is_success else "?"
        return self._slugs[article_id]

    async def choice_slugs(self, buttons: list[dict[str, Any]]) -> dict[str, str]:
        """Map each clarify button's article slug to its payload."""
        out = {}
        for b in buttons:
            payload = b.get("payload", "")
            if payload.startswith(CHOOSE_PREFIX):
                digits = "".join(c for c in payload[len(CHOOSE_PREFIX):] if c.isdigit())
                if digits:
                    out[await self.slug(int(digits))] = payload
        return out

    async def check(
        self, expect: Expect, replies: list[dict[str, Any]], conversation_id: str
    ) -> list[str]:
        problems: list[str] = []
        text = "\n".join(r.get("text") or "" for r in replies).lower()
        payloads = {q.get("payload") for r in replies for q in r.get("quick_replies") or []}
        if expect.silent and replies:
            problems.append(f"expected silence, got {_show(replies)}")
        if expect.answer is not None:
            sources = [
                (r.get("metadata") or {}).get("source") or (r.get("custom") or {}).get("source")
                for r in replies
            ]
            got = [await self.slug(s["article_id"]) for s in sources if isinstance(s, dict)]
            if expect.answer not in got:
                problems.append(f"expected the answer of {expect.answer!r}, got articles {got}")
            if not FEEDBACK_PAYLOADS <= payloads:
                problems.append("expected 'Did this help?' quick replies after the answer")
        if expect.clarify:
            clarify = [r for r in replies if NONE_OF_THESE_PAYLOAD in
                       {q.get("payload") for q in r.get("quick_replies") or []}]
            if not clarify:
                problems.append(f"expected clarify buttons, got {_show(replies)}")
            elif isinstance(expect.clarify, list):
                offered = await self.choice_slugs(clarify[-1]["quick_replies"])
                missing = [s for s in expect.clarify if s not in offered]
                if missing:
                    problems.append(f"clarify buttons lack {missing}; offered {sorted(offered)}")
        if expect.offer and not OFFER_PAYLOADS <= payloads:
            problems.append(f"expected the offer of a person (Yes/No), got {_show(replies)}")
        if expect.offer is False and OFFER_PAYLOADS <= payloads:
            problems.append("expected no offer of a person")
        if expect.says is not None and expect.says.lower() not in text:
            problems.append(f"expected a reply saying {expect.says!r}, got {_show(replies)}")
        if expect.not_says is not None and expect.not_says.lower() in text:
            problems.append(f"expected no reply saying {expect.not_says!r}")
        if expect.handoff is not None or expect.status is not None:
            r = await self.api.get(f"/api/conversations/{conversation_id}")
            conv = r.json() if r.is_success else {}
            status, reason = conv.get("status"), conv.get("reason")
            if expect.handoff is not None and (
                status not in ("queued", "assigned") or reason != expect.handoff
            ):
                problems.append(
                    f"expected a handoff with reason {expect.handoff!r}, conversation is "
                    f"{status!r} with reason {reason!r}"
                )
            if expect.status is not None and status != expect.status:
                problems.append(f"expected status {expect.status!r}, got {status!r}")
        return problems


def _show(replies: list[dict[str, Any]]) -> str:
    if not replies:
        return "no reply"
    return " | ".join(
        (r.get("text") or ("(source)" if r.get("custom") else ""))[:80]
        + (f" [{', '.join(q.get('title', '') for q in r['quick_replies'])}]"
           if r.get("quick_replies") else "")
        for r in replies
    )


async def _run_one(
    scenario: Scenario, url: str, api: httpx.AsyncClient, checker: _Checker, timing: Timing
) -> ScenarioResult:
    started = time.monotonic()
    result = ScenarioResult(scenario.name, passed=True)
    widget = _Widget(url)
    last_buttons: list[dict[str, Any]] = []
    try:
        conversation_id = await widget.connect()
        for number, step in enumerate(scenario.steps, 1):
            if step.user is not None:
                result.transcript.append(f"user : {step.user}")
                await widget.say(step.user)
            elif step.choose is not None:
                choices = await checker.choice_slugs(last_buttons)
                if step.choose not in choices:
                    result.failures.append(
                        f"step {number}: no clarify button for {step.choose!r} "
                        f"(offered {sorted(choices)})"
                    )
                    break
                result.transcript.append(f"user : (clicks {step.choose})")
                await widget.say(choices[step.choose])
            else:
                await _agent_step(api, conversation_id, step.agent, result)
            silent_wait = timing.silence if step.expect.silent else timing.reply
            replies = await widget.collect(silent_wait, timing.settle)
            result.transcript += [f"{_sender(r)}: {_show([r])}" for r in replies]
            for r in replies:
                if r.get("quick_replies"):
                    last_buttons = r["quick_replies"]
            for problem in await checker.check(step.expect, replies, conversation_id):
                result.failures.append(f"step {number}: {problem}")
    except ScenarioError as e:
        result.failures.append(str(e))
    except (OSError, httpx.HTTPError, asyncio.TimeoutError) as e:
        result.failures.append(f"{type(e).__name__}: {e}")
    finally:
        # Closing a broken socket must not hide the scenario's result.
        with contextlib.suppress(Exception):
            await widget.close()
    result.passed = not result.failures
    result.seconds = time.monotonic() - started
    return result


def _sender(reply: dict[str, Any]) -> str:
    return f"{(reply.get('metadata') or {}).get('sender', 'bot'):5}"


async def _agent_step(
    api: httpx.AsyncClient, conversation_id: str, action: Any, result: ScenarioResult
) -> None:
    if isinstance(action, AgentSay):
        result.transcript.append(f"agent: {action.say}")
        r = await api.post(f"/api/conversations/{conversation_id}/messages",
                           json={"text": action.say})
    else:
        result.transcript.append(f"agent: ({action})")
        r = await api.post(f"/api/conversations/{conversation_id}/{action}")
    if not r.is_success:
        raise ScenarioError(f"agent {action} failed: HTTP {r.status_code} {r.text[:200]}")


async def run_scenarios(
    scenarios: list[Scenario],
    url: str,
    token: str,
    timing: Timing | None = None,
    concurrency: int = 4,
) -> list[ScenarioResult]:
    """Run each scenario in a fresh conversation, ``concurrency`` at a time.

    Args:
        scenarios: from `load_scenarios`.
        url: the app server, e.g. ``http://127.0.0.1:8000``.
        token: an agent token from ``POST /api/auth/token`` (an admin's, so that article slugs
            can be read from the knowledge base API).
        timing: how long to wait for replies and for silence.
        concurrency: conversations in flight at once (they are independent, as real users are).

    Returns:
        One result per scenario, in the order given.
    """
    timing = timing or Timing()
    url = url.rstrip("/")
    headers = {"Authorization": f"Bearer {token}"}
    # Pooled connections are dropped after KEEPALIVE_SECONDS idle, before the app server
    # (uvicorn: 5 s) closes them: a request sent on a connection the server was closing at
    # that moment failed a scenario with "Server disconnected without sending a response".
    limits = httpx.Limits(keepalive_expiry=KEEPALIVE_SECONDS)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30, limits=limits) as api:
        try:
            (await api.get("/health")).raise_for_status()
        except httpx.HTTPError as e:
            raise ScenarioError(f"{url}/health is not reachable ({e}); is `tier1 run` up?") from e
        checker = _Checker(api)
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(scenario: Scenario) -> ScenarioResult:
            async with gate:
                return await _run_one(scenario, url, api, checker, timing)

        return list(await asyncio.gather(*(one(s) for s in scenarios)))


def login(url: str, email: str, password: str) -> str:
    """An access token for an agent account (``POST /api/auth/token``)."""
    r = httpx.post(f"{url.rstrip('/')}/api/auth/token",
                   data={"username": email, "password": password}, timeout=30)
    if r.status_code != 200:
        raise ScenarioError(f"could not log in as {email}: HTTP {r.status_code} {r.text[:200]}")
    return r.json()["access_token"]


def report(results: list[ScenarioResult], verbose: bool = False) -> str:
    """One line per scenario (PASS/FAIL), the failures, and a summary line."""
    lines = []
    for r in results:
        lines.append(f"{'PASS' if r.passed else 'FAIL'}  {r.name}  ({r.seconds:.1f} s)")
        for f in r.failures:
            lines.append(f"        - {f}")
        if verbose or not r.passed:
            lines += [f"        | {t}" for t in r.transcript]
    passed = sum(r.passed for r in results)
    lines.append(f"{passed}/{len(results)} scenarios passed")
    return "\n".join(lines)


__all__ = [
    "Expect",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "Step",
    "Timing",
    "load_scenarios",
    "login",
    "report",
    "run_scenarios",
]
