"""Process supervision for `tier1 run`, built on supervisord.

supervisord (a well-kept library) starts the three processes in order, restarts a crashed
child with back-off and stops them as a group. This module writes its config, starts it,
follows the children's log files with a prefix naming the process, waits for their health
checks, restarts a child whose health check keeps failing, and shuts all down on Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from tier1.console_filter import ConsoleFilter
from tier1.ports import holder, owned_by

# How long the watchdog waits for one health check. A loaded machine (200 users on 2 cores)
# makes Rasa and the app answer /health in several seconds; restarting them then drops every
# socket and loses the in-flight turns, which is worse than the slowness.
WATCH_TIMEOUT_SECONDS = 15.0


class SupervisorError(Exception):
    """A supervised process could not be started or did not become healthy."""


@dataclass(frozen=True)
class Program:
    """One supervised process.

    ``health_url`` answers while the process works (the watchdog restarts it when it keeps
    failing); ``ready_url``, when given, answers only once everything the process needs is up
    too (start-up waits for it). The app's are /health/live and /health/ready: a Rasa that
    restarts is no reason to restart the app.
    """

    name: str
    command: list[str]
    health_url: str
    priority: int
    environment: dict[str, str] | None = None
    ready_url: str | None = None
    # The TCP port it listens on: its health checks count only when this process (or a
    # child of it) holds the port, never another program answering there.
    port: int | None = None


def _quote(arg: str) -> str:
    # supervisord splits `command` with shlex; quote and escape % (its interpolation char).
    import shlex

    return shlex.quote(arg).replace("%", "%%")


def render_config(
    programs: list[Program], run_dir: Path, log_dir: Path, *, silent: bool = False
) -> str:
    """supervisord.conf for ``programs``; logs go to one file per program in ``log_dir``.

    ``silent``: supervisord's own log lines go to its log file only, not to the terminal.
    """
    lines = [
        "[supervisord]",
        "nodaemon=true",
        f"silent={'true' if silent else 'false'}",
        f"logfile={log_dir / 'supervisord.log'}",
        f"pidfile={run_dir / 'supervisord.pid'}",
        f"childlogdir={log_dir}",
        "loglevel=info",
        "",
        "[unix_http_server]",
        f"file={run_dir / 'supervisor.sock'}",
        "chmod=0700",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
    ]
    for p in programs:
        lines += [
            f"[program:{p.name}]",
            "command=" + " ".join(_quote(a) for a in p.command),
            f"priority={p.priority}",
            "autostart=true",
            "autorestart=true",
            "startsecs=3",
            "startretries=5",
            "stopsignal=TERM",
            "stopwaitsecs=20",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={log_dir / (p.name + '.log')}",
            "stdout_logfile_maxbytes=10MB",
            "stdout_logfile_backups=3",
        ]
        if p.environment:
            env = ",".join(f'{k}="{v}"' for k, v in p.environment.items())
            lines.append(f"environment={env.replace('%', '%%')}")
        lines.append("")
    return "\n".join(lines)


class LogFollower(threading.Thread):
    """Prints new lines of each program's log file, prefixed with the program's name.

    When ``shows`` is given, only the lines ``shows(program, line)`` lets through.
    """

    def __init__(
        self,
        files: dict[str, Path],
        write: Callable[[str], None],
        shows: Callable[[str, str], bool] | None = None,
    ):
        super().__init__(daemon=True, name="tier1-log-follower")
        self._files = files
        self._write = write
        self._shows = shows
        self._stopping = threading.Event()
        width = max(len(n) for n in files)
        self._prefix = {n: f"{n:<{width}} | " for n in files}

    def stop(self) -> None:
        """Ask the thread to stop after its current round."""
        self._stopping.set()

    def run(self) -> None:
        """Poll the log files four times a second and write their new lines (follows rotation)."""
        offsets = {n: (p.stat().st_size if p.exists() else 0) for n, p in self._files.items()}
        partial = {n: "" for n in self._files}
        while not self._stopping.is_set():
            for name, path in self._files.items():
                try:
                    size = path.stat().st_size
                except FileNotFoundError:
                    continue
                if size < offsets[name]:  # rotated
                    offsets[name] = 0
                if size == offsets[name]:
                    continue
                with path.open("r", encoding="utf-8", errors="replace") as fh:
                    fh.seek(offsets[name])
                    chunk = fh.read()
                    offsets[name] = fh.tell()
                text = partial[name] + chunk
                *lines, partial[name] = text.split("\n")
                for line in lines:
                    if self._shows is None or self._shows(name, line):
                        self._write(self._prefix[name] + line)
            self._stopping.wait(0.25)


class Supervisor:
    """Runs ``programs`` under supervisord in the foreground of the calling process."""

    def __init__(self, programs: list[Program], run_dir: Path, env: dict[str, str],
                 write: Callable[[str], None] = print, *, verbose: bool = True):
        self.programs = sorted(programs, key=lambda p: p.priority)
        self.run_dir = run_dir
        self.log_dir = run_dir / "logs"
        self.env = env
        self.write = write
        # verbose: every line of every child on the terminal; else tier1's lines and problems.
        self.verbose = verbose
        self.console = ConsoleFilter(verbose)
        self._proc: subprocess.Popen | None = None
        self._follower: LogFollower | None = None

    @property
    def socket_path(self) -> Path:
        """The Unix socket supervisord is controlled through."""
        return self.run_dir / "supervisor.sock"

    def start(self) -> None:
        """Write supervisord's config, start following the logs and start supervisord."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        conf = self.run_dir / "supervisord.conf"
        conf.write_text(
            render_config(self.programs, self.run_dir, self.log_dir, silent=not self.verbose),
            encoding="utf-8",
        )
        os.chmod(conf, 0o600)
        self._follower = LogFollower(
            {p.name: self.log_dir / f"{p.name}.log" for p in self.programs},
            self.write,
            self.console.shows,
        )
        self._follower.start()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(conf)],
            env=self.env,
            start_new_session=True,  # Ctrl-C reaches us; we stop supervisord deliberately
        )

    def _rpc(self):
        from supervisor.xmlrpc import SupervisorTransport

        transport = SupervisorTransport(None, None, f"unix://{self.socket_path}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def restart(self, name: str) -> None:
        """Stop (if running) and start program ``name`` through supervisord."""
        rpc = self._rpc()
        try:
            rpc.supervisor.stopProcess(name, True)
        except xmlrpc.client.Fault:
            pass  # already stopped
        rpc.supervisor.startProcess(name, False)

    def _state(self, name: str) -> str | None:
        try:
            return self._rpc().supervisor.getProcessInfo(name)["statename"]
        except (OSError, xmlrpc.client.Error):
            return None  # supervisord not listening yet

    def _tail(self, name: str, lines: int = 30) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return "(no output)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def wait_healthy(self, timeout: float) -> None:
        """Block until every program is ready, in priority order.

        Ready: its ``ready_url`` (else ``health_url``) answers and it holds its own port.
        """
        deadline = time.monotonic() + timeout
        for p in self.programs:
            url = p.ready_url or p.health_url
            while not (healthy(url) and self._holds_its_port(p)):
                if self._proc is not None and self._proc.poll() is not None:
                    raise SupervisorError(
                        f"supervisord exited with code {self._proc.returncode}; "
                        f"see {self.log_dir / 'supervisord.log'}"
                    )
                if self._state(p.name) == "FATAL":
                    raise SupervisorError(
                        f"{p.name} keeps crashing; its last output:\n{self._tail(p.name)}"
                    )
                if time.monotonic() > deadline:
                    raise SupervisorError(
                        f"{p.name} did not become healthy within {timeout:.0f} s "
                        f"({url}); see {self.log_dir / (p.name + '.log')}"
                    )
                time.sleep(0.5)
            self.write(f"tier1 | {p.name} is up ({url})")

    def watch(self, interval: float = 10.0, failures_before_restart: int = 6,
              grace_seconds: float = 180.0) -> int:
        """Until supervisord exits or Ctrl-C: restart a child whose health check keeps failing.

        supervisord already restarts a child that crashes; this catches one that hangs. A child
        that (re)started less than ``grace_seconds`` ago is still loading (Rasa can take a
        minute on a busy machine) and is not counted as failing.
        """
        assert self._proc is not None
        failures = {p.name: 0 for p in self.programs}
        while self._proc.poll() is None:
            time.sleep(interval)
            for p in self.programs:
                # A generous timeout: under load a busy child answers slowly, a hung one never.
                busy_ok = healthy(p.health_url, timeout=WATCH_TIMEOUT_SECONDS) and (
                    self._holds_its_port(p, strict=False)
                )
                if busy_ok or self._starting(p.name, grace_seconds):
                    failures[p.name] = 0
                    continue
                failures[p.name] += 1
                if failures[p.name] >= failures_before_restart:
                    self.write(f"tier1 | {p.name} failed {failures[p.name]} health checks; restarting it")
                    failures[p.name] = 0
                    try:
                        self.restart(p.name)
                    except (OSError, xmlrpc.client.Error) as e:
                        self.write(f"tier1 | could not restart {p.name}: {e}")
        return self._proc.returncode or 0

    def _holds_its_port(self, p: Program, strict: bool = True) -> bool:
        """True when ``p`` (or a child of it) listens on its port, or it has no port.

        ``strict``: when another program holds the port, raise `SupervisorError` naming it
        (at start-up: ``p`` can never listen there); else just return False.
        """
        if p.port is None:
            return True
        pid = self._pid(p.name)
        if pid is None:  # not started yet (or supervisord not answering): nothing to judge
            return False
        if owned_by(p.port, pid):
            return True
        other = holder(p.port)
        if strict and other is not None and other.pid is not None and other.pid != pid:
            raise SupervisorError(
                f"{p.name} cannot listen on port {p.port}: {other.describe()}. Another program "
                f"answers there, not tier1's {p.name}; stop it or choose another port in "
                "config.yml."
            )
        return False

    def _pid(self, name: str) -> int | None:
        try:
            return self._rpc().supervisor.getProcessInfo(name)["pid"] or None
        except (OSError, xmlrpc.client.Error):
            return None

    def _starting(self, name: str, grace_seconds: float) -> bool:
        """True while ``name`` is not running yet or started within the grace period."""
        try:
            info = self._rpc().supervisor.getProcessInfo(name)
        except (OSError, xmlrpc.client.Error):
            return False
        if info["statename"] in ("STARTING", "BACKOFF"):
            return True
        return info["statename"] == "RUNNING" and info["now"] - info["start"] < grace_seconds

    def stop(self, timeout: float = 40.0) -> None:
        """Stop all children (supervisord stops them in reverse priority) and supervisord."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
        if self._follower is not None:
            time.sleep(0.3)  # let the follower print the children's last words
            self._follower.stop()
            self._follower.join(timeout=2)


def healthy(url: str, timeout: float = 3.0) -> bool:
    """True when ``url`` answers GET with a status below 500 within ``timeout`` seconds."""
    try:
        return httpx.get(url, timeout=timeout).status_code < 500
    except httpx.HTTPError:
        return False
