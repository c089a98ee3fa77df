"""Who holds a TCP port.

So `tier1 run` refuses to start on a taken port, and its health checks know they talk to their
own child, not to another program that answers on the same port.

A second program on Rasa's port (say 5005) makes Rasa fail with "address already in use" while
the other program answers the health check; without these checks `tier1 run` said "rasa is up"
and every chat then failed.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class PortHolder:
    """A process listening on a port (``pid`` None: not visible to this user)."""

    port: int
    pid: int | None
    command: str

    def describe(self) -> str:
        """The holder in words, for an error message."""
        if self.pid is None:
            return f"port {self.port} is held by a process this user cannot see"
        return f"port {self.port} is held by pid {self.pid} ({self.command})"


class PortInUse(Exception):
    """A port tier1 must listen on is taken by another program."""


def is_free(host: str, port: int) -> bool:
    """True when a server could listen on ``host:port`` now.

    As uvicorn and Sanic do, with SO_REUSEADDR: a port held only by closed connections in
    TIME_WAIT counts as free.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def holder(port: int) -> PortHolder | None:
    """The process listening on TCP ``port`` on any address, or None when nobody listens."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:  # some platforms need privileges to list every socket
        return None
    for c in connections:
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port:
            return PortHolder(port, c.pid, _command(c.pid))
    return None


def owned_by(port: int, pid: int) -> bool:
    """True when the listener on ``port`` is process ``pid`` or one of its descendants."""
    found = holder(port)
    if found is None or found.pid is None:
        return False
    if found.pid == pid:
        return True
    try:
        return any(child.pid == found.pid for child in psutil.Process(pid).children(recursive=True))
    except psutil.Error:
        return False


def require_free(wanted: dict[str, tuple[str, int, str]]) -> None:
    """Raise `PortInUse` naming every taken port, its holder and the setting that moves it.

    ``wanted`` maps a program name to ``(host, port, setting)``, e.g.
    ``{"rasa": ("127.0.0.1", 5005, "server.rasa_port")}``.
    """
    problems = []
    for name, (host, port, setting) in wanted.items():
        if is_free(host, port):
            continue
        found = holder(port)
        who = found.describe() if found else f"port {port} is in use"
        problems.append(f"{name} needs {host}:{port}, but {who}: stop it, or set {setting} "
                        "in config.yml to a free port")
    if problems:
        raise PortInUse("\n  ".join(["", *problems]))


def _command(pid: int | None) -> str:
    if pid is None:
        return "unknown"
    try:
        return " ".join(psutil.Process(pid).cmdline())[:120] or psutil.Process(pid).name()
    except psutil.Error:
        return "unknown"


__all__ = ["PortHolder", "PortInUse", "holder", "is_free", "owned_by", "require_free"]
