"""SQL persistence of agent accounts and of who holds what (synchronous SQLAlchemy)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handoff.errors import AgentExists, AgentNotFound
from handoff.models import AgentRow, ConversationRow, queued_ids_query, utcnow
from handoff.records import Agent
from handoff.status import Status

# SQL ids are 64-bit: a larger (or non-positive) id names no agent, and a larger one would
# overflow the database driver (a 500 instead of a 404).
MAX_ID = 2**63 - 1


def _get(s: Session, agent_id: int) -> AgentRow | None:
    return s.get(AgentRow, agent_id) if 0 < agent_id <= MAX_ID else None


class AgentStore:
    """Agent rows plus the workload queries assignment needs; one transaction per method."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _session(self) -> Session:
        return Session(self._engine, future=True, expire_on_commit=False)

    # -- accounts ------------------------------------------------------------------------

    def add_agent(
        self,
        email: str,
        password_hash: str,
        role: str,
        display_name: str,
        capacity: int | None = None,
    ) -> Agent:
        """Store a new account (the hash already made); raise AgentExists if the email is taken."""
        try:
            with self._session() as s, s.begin():
                row = AgentRow(
                    email=email,
                    password_hash=password_hash,
                    role=role,
                    display_name=display_name,
                    capacity=capacity,
                    created_at=utcnow(),
                )
                s.add(row)
                s.flush()
                return _agent(row)
        except IntegrityError as e:
            raise AgentExists(
                f"An agent with email {email!r} already exists; log in instead."
            ) from e

    def get_agent(self, agent_id: int) -> Agent | None:
        """The agent with this id, or None."""
        with self._session() as s:
            row = _get(s, agent_id)
            return None if row is None else _agent(row)

    def list_agents(self, include_deactivated: bool = False) -> list[Agent]:
        """Agents by name; deactivated ones only when asked (they take no work)."""
        query = select(AgentRow).order_by(AgentRow.display_name, AgentRow.id)
        if not include_deactivated:
            query = query.where(AgentRow.deactivated_at.is_(None))
        with self._session() as s:
            return [_agent(r) for r in s.execute(query).scalars()]

    def update_agent(
        self, agent_id: int, *, capacity: int | None = None, role: str | None = None,
        display_name: str | None = None,
    ) -> Agent:
        """Change the given fields (None leaves a field alone)."""
        with self._session() as s, s.begin():
            row = _get(s, agent_id)
            if row is None:
                raise AgentNotFound(f"No agent has id {agent_id}; list agents at GET /api/agents.")
            if capacity is not None:
                row.capacity = capacity
            if role is not None:
                row.role = role
            if display_name is not None:
                row.display_name = display_name
            s.flush()
            return _agent(row)

    def agent_credentials(self, email: str) -> tuple[Agent, str] | None:
        """The agent with ``email`` and its password hash, or None."""
        with self._session() as s:
            row = s.execute(select(AgentRow).where(AgentRow.email == email)).scalars().first()
            return None if row is None else (_agent(row), row.password_hash)

    def set_password_hash(
        self, agent_id: int, password_hash: str, *, revoke_tokens: bool = False
    ) -> Agent:
        """Replace an agent's password hash.

        A rehash with current parameters keeps tokens; with ``revoke_tokens`` (a reset) every
        token issued before it stops working.
        """
        with self._session() as s, s.begin():
            row = self._row(s, agent_id)
            row.password_hash = password_hash
            if revoke_tokens:
                row.token_version += 1
            s.flush()
            return _agent(row)

    def set_deactivated(self, agent_id: int, deactivated: bool) -> Agent:
        """Deactivate (revoking its tokens) or reactivate an account; idempotent."""
        with self._session() as s, s.begin():
            row = self._row(s, agent_id)
            if deactivated and row.deactivated_at is None:
                row.deactivated_at = utcnow()
                row.token_version += 1
            elif not deactivated:
                row.deactivated_at = None
            s.flush()
            return _agent(row)

    @staticmethod
    def _row(s: Session, agent_id: int) -> AgentRow:
        row = _get(s, agent_id)
        if row is None:
            raise AgentNotFound(f"No agent has id {agent_id}; list agents at GET /api/agents.")
        return row

    # -- workload ------------------------------------------------------------------------

    def assigned_counts(self) -> dict[int, int]:
        """How many conversations each agent holds (agents holding none are absent)."""
        stmt = (
            select(ConversationRow.assignee_id, func.count())
            .where(ConversationRow.status == Status.ASSIGNED.value)
            .group_by(ConversationRow.assignee_id)
        )
        with self._session() as s:
            return {aid: n for aid, n in s.execute(stmt).all() if aid is not None}

    def assigned_ids(self, agent_id: int) -> list[str]:
        """The conversations ``agent_id`` holds now."""
        stmt = select(ConversationRow.id).where(
            ConversationRow.status == Status.ASSIGNED.value, ConversationRow.assignee_id == agent_id
        )
        with self._session() as s:
            return list(s.execute(stmt.order_by(ConversationRow.id)).scalars())

    def queued_ids(self, limit: int = 100) -> list[str]:
        """Queued conversation ids in queue order (priority, then oldest queued)."""
        with self._session() as s:
            return list(s.execute(queued_ids_query(limit)).scalars())

    def unanswered_assignments(self, assigned_before: datetime) -> list[tuple[str, int]]:
        """(conversation id, assignee id) assigned before the cutoff with no agent reply yet."""
        stmt = select(ConversationRow.id, ConversationRow.assignee_id).where(
            ConversationRow.status == Status.ASSIGNED.value,
            ConversationRow.agent_replied_at.is_(None),
            ConversationRow.assigned_at < assigned_before,
        )
        with self._session() as s:
            return [(cid, aid) for cid, aid in s.execute(stmt).all()]


def _agent(row: AgentRow) -> Agent:
    return Agent(
        id=row.id,
        email=row.email,
        role=row.role,
        display_name=row.display_name,
        created_at=row.created_at,
        capacity=row.capacity,
        deactivated_at=row.deactivated_at,
        token_version=row.token_version or 0,
    )


__all__ = ["AgentStore"]
