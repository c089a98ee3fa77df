"""Keep the start-up heap out of the garbage collector's passes.

Before it serves, the app process imports FastAPI, SQLAlchemy, socket.io, onnxruntime and the
sentence-transformers stack and loads the knowledge base: hundreds of thousands of long-lived
container objects (modules, classes, functions, ORM metadata) that will never become garbage.
CPython's cyclic collector still walks every one of them in each older-generation collection,
and a busy server triggers those often: under saturated load a perf profile of the app process
put ~7 % of its CPU in the collector (``gc_collect_main`` and its traversals; BENCHMARKS.md).
``gc.freeze()`` after start-up moves them to a permanent generation the collector ignores, the
use the Python documentation gives for it; what is created while serving is collected as
before, and reference counting still frees frozen objects that lose their last reference.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collect once, then freeze every object alive now; returns how many are frozen."""
    gc.collect()  # garbage left by start-up is freed, not frozen for the process's life
    gc.freeze()
    return gc.get_freeze_count()


__all__ = ["freeze_startup_heap"]
