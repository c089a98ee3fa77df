"""Agent accounts: creation with validation, login, password resets and deactivation.

Login turns credentials into an access token. Deactivation here covers the account itself;
its conversations are `handoff.account_admin`'s.
"""

from __future__ import annotations

import re
import secrets

from handoff.agent_store import AgentStore
from handoff.auth import Passwords, Tokens
from handoff.errors import AuthError, Forbidden, InvalidAgent
from handoff.records import Agent

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_CHARS = 8
ROLES = ("agent", "admin")
GENERATED_PASSWORD_BYTES = 12  # 16 URL-safe characters


class AgentAccounts:
    """Creates agents and logs them in; emails are compared case-insensitively."""

    def __init__(self, store: AgentStore, passwords: Passwords, tokens: Tokens) -> None:
        self._store = store
        self._passwords = passwords
        self._tokens = tokens

    def create(
        self,
        email: str,
        password: str,
        role: str = "agent",
        display_name: str | None = None,
        capacity: int | None = None,
    ) -> Agent:
        """Create an agent account.

        Raises:
            InvalidAgent: malformed email, password shorter than 8 characters, unknown role.
            AgentExists: the email is taken.
        """
        email = (email or "").strip().lower()
        if not EMAIL.match(email):
            raise InvalidAgent(f"{email!r} is not an email address; use the form name@example.com.")
        _check_password(password)
        if role not in ROLES:
            raise InvalidAgent(f"Unknown role {role!r}; use 'agent' or 'admin'.")
        if capacity is not None and not 1 <= capacity <= 100:
            raise InvalidAgent("capacity must be between 1 and 100 conversations, or omitted.")
        name = (display_name or "").strip() or email.split("@", 1)[0]
        return self._store.add_agent(
            email, self._passwords.hash(password), role, name[:120], capacity
        )

    def authenticate(self, email: str, password: str) -> str:
        """A fresh access token for valid credentials; `AuthError` otherwise."""
        found = self._store.agent_credentials((email or "").strip().lower())
        agent, password_hash = found if found else (None, None)
        if not self._passwords.verify(password_hash, password or "") or agent is None:
            raise AuthError("Wrong email or password; check both and try again.")
        if not agent.is_active:
            # Only after the password matched, so this does not reveal which accounts exist.
            raise Forbidden("This account is deactivated; ask an admin to reactivate it.")
        if self._passwords.needs_rehash(password_hash):
            # Hashes made with older cost parameters are upgraded at the next login.
            self._store.set_password_hash(agent.id, self._passwords.hash(password))
        return self._tokens.issue(agent)

    def reset_password(self, agent_id: int, password: str | None = None) -> tuple[Agent, str]:
        """Set a new password (``None``: generate a random one) and revoke the agent's tokens.

        Returns:
            The agent and the new password (to show once; only its hash is stored).

        Raises:
            InvalidAgent: the given password is too short. AgentNotFound.
        """
        if password is None:
            password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
        _check_password(password)
        agent = self._store.set_password_hash(
            agent_id, self._passwords.hash(password), revoke_tokens=True
        )
        return agent, password

    def set_deactivated(
        self, agent_id: int, deactivated: bool, *, by: Agent | None = None
    ) -> Agent:
        """Deactivate (its tokens stop working at once) or reactivate an account.

        Raises:
            InvalidAgent: an admin (``by``) deactivating their own account. AgentNotFound.
        """
        if deactivated and by is not None and agent_id == by.id:
            raise InvalidAgent(
                "You cannot deactivate your own account; ask another admin to do it."
            )
        return self._store.set_deactivated(agent_id, deactivated)

    def find(self, email: str) -> Agent | None:
        """The agent with this email (case-insensitive), or None."""
        found = self._store.agent_credentials((email or "").strip().lower())
        return found[0] if found else None

    def get(self, agent_id: int) -> Agent | None:
        """The agent with this id, or None."""
        return self._store.get_agent(agent_id)

    def update(
        self,
        agent_id: int,
        *,
        capacity: int | None = None,
        role: str | None = None,
        display_name: str | None = None,
    ) -> Agent:
        """Change an agent's capacity, role or display name (None keeps a field)."""
        if role is not None and role not in ROLES:
            raise InvalidAgent(f"Unknown role {role!r}; use 'agent' or 'admin'.")
        if capacity is not None and not 1 <= capacity <= 100:
            raise InvalidAgent("capacity must be between 1 and 100 conversations.")
        return self._store.update_agent(
            agent_id, capacity=capacity, role=role, display_name=display_name
        )


def _check_password(password: object) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise InvalidAgent(
            f"The password is too short; use at least {MIN_PASSWORD_CHARS} characters."
        )


__all__ = ["AgentAccounts"]
