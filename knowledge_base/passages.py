"""``split_passages``: cut a long answer into passages of about ``max_chars`` for indexing.

A question may match a sentence deep inside a long article that no title or question
variant covers; indexing the answer's passages lets the search find it, and a passage hit
maps back to its article like any question hit.
"""

from __future__ import annotations

import re

_PARAGRAPH = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_passages(text: str, max_chars: int = 500) -> list[str]:
    """Split on paragraph boundaries, packing whole paragraphs up to ``max_chars``.

    A paragraph longer than ``max_chars`` is split between sentences, and a sentence longer
    than that at the last space before the limit. Whitespace inside a passage is collapsed.

    Returns:
        Non-empty passages in order, each at most ``max_chars`` long, together holding every
        non-whitespace character of ``text`` in order.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be >= 1")
    pieces: list[str] = []
    for paragraph in _PARAGRAPH.split(text):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        if len(paragraph) <= max_chars:
            pieces.append(paragraph)
            continue
        for sentence in _SENTENCE_END.split(paragraph):
            pieces.extend(_hard_wrap(sentence, max_chars))
    passages: list[str] = []
    for piece in pieces:
        if passages and len(passages[-1]) + 1 + len(piece) <= max_chars:
            passages[-1] = f"{passages[-1]} {piece}"
        else:
            passages.append(piece)
    return passages


def _hard_wrap(sentence: str, max_chars: int) -> list[str]:
    out = []
    while len(sentence) > max_chars:
        cut = sentence.rfind(" ", 0, max_chars + 1)
        cut = cut if cut > 0 else max_chars
        out.append(sentence[:cut].rstrip())
        sentence = sentence[cut:].lstrip()
    if sentence:
        out.append(sentence)
    return out
