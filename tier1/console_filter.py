"""What `tier1 run` prints of its children's output: tier1's own lines and real problems.

The children's logs (``<state_dir>/logs/*.log``) keep everything; the terminal gets errors,
tracebacks and warnings from tier1's own code, not pages of third-party deprecation notices
and model load reports a newcomer cannot tell from a failure. ``tier1 run --verbose`` prints
every line, as before.
"""

from __future__ import annotations

import re

PROBLEM = re.compile(r"\b(ERROR|CRITICAL|FATAL)\b|\w+Error: |(?i:address already in use)")
OWN_WARNING = re.compile(r"\bWARNING\b.*\b(tier1|bot|handoff|knowledge_base|schema_migration)\.")
TRACEBACK = "Traceback (most recent call last):"
NOISE = re.compile(r"DeprecationWarning|PendingDeprecationWarning")


class ConsoleFilter:
    """``shows(program, line)``: print this line of that program's output on the terminal?

    Errors (any logger), tier1's own warnings and whole tracebacks are shown; a traceback
    continues over its indented lines and ends with the exception's line.
    """

    def __init__(self, verbose: bool = False) -> None:
        self.verbose = verbose
        self._in_traceback: set[str] = set()

    def shows(self, program: str, line: str) -> bool:
        """True when this line of ``program``'s output belongs on the terminal."""
        if self.verbose:
            return True
        if program in self._in_traceback:
            if line.startswith((" ", "\t", "During ")) or not line.strip():
                return True
            self._in_traceback.discard(program)
            return True  # the exception line ends it
        if TRACEBACK in line:
            self._in_traceback.add(program)
            return True
        if NOISE.search(line):
            return False
        return bool(PROBLEM.search(line) or OWN_WARNING.search(line))


__all__ = ["ConsoleFilter"]
