"""The question a simulated user sends: drawn from its kind's texts, optionally made unique.

The load's texts come from a short list (the demo help center's questions), so the same text
recurs within seconds and anything keyed by text (the knowledge base's recent question vectors)
serves it from memory. Real users rarely repeat each other word for word: with ``unique`` each
text gets a random reference appended ("... (ref 042117)"), so every message costs what a new
question costs.
"""

from __future__ import annotations

import random


def pick_text(texts: list[str], rng: random.Random, unique: bool) -> str:
    """A random text of ``texts``; with ``unique``, with a random reference appended."""
    text = rng.choice(texts)
    return f"{text} (ref {rng.randrange(10**6):06d})" if unique else text


__all__ = ["pick_text"]
