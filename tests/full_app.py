"""The whole app as `tier1.app.create_app` builds it, for in-process API tests.

A temp SQLite database, the hashing embedder and the in-memory vector index; Rasa and the
action server are down (their ports refuse connections), so nothing leaves the process.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from tier1.app import create_app
from tier1.settings import settings_from_dict

ROOT = Path(__file__).resolve().parents[1]
SECRETS = {"jwt_secret": "f" * 32, "internal_token": "i" * 32, "rasa_token": "r" * 32}
INTERNAL = {"Authorization": f"Bearer {SECRETS['internal_token']}"}
# One client sending fast: the rate limits have their own tests.
NO_RATE_LIMITS = {"per_ip": {"per_minute": 1e9, "burst": 10**9},
                  "per_token": {"per_minute": 1e9, "burst": 10**9}}


def closed_port() -> int:
    """A port nothing listens on (connections to it are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_app(work: Path, *, seed: bool = True, **sections: Any):
    """``create_app`` over ``work`` (database, state); ``sections`` override config sections."""
    config: dict[str, Any] = {
        "server": {"state_dir": str(work / "state"), "rasa_port": closed_port(),
                   "action_port": closed_port()},
        "database": {"url": f"sqlite:///{work / 'tier1.db'}"},
        "knowledge_base": {
            "embedder": {"type": "hashing", "dimensions": 256},
            "index": {"type": "memory"},
            "seed_file": str(ROOT / "knowledge_base/demo/articles.yml") if seed else None,
        },
        "limits": NO_RATE_LIMITS,
        **sections,
    }
    return create_app(settings_from_dict(config, SECRETS, root=ROOT))
