"""One BLAS thread per process unless the operator says otherwise.

numpy's OpenBLAS starts one thread per core and spins them for every small matrix product
(the article head's logits, Rasa's classifier). In a server those threads fight the request
threads and the other processes for the cores: with two app replicas on 2 cores, the replica
started without ``OPENBLAS_NUM_THREADS=1`` spent 23 ms of CPU per message against 11 ms for
the one `tier1 run` starts with it (benchmarks/app_scaling.py, BENCHMARKS.md). `tier1 run`
sets the variable for its children; the app also applies the limit itself at start-up, so a
replica started by hand or by another process manager costs the same.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# An operator who sets any of these chose the thread count: leave it alone.
OPERATOR_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def limit_blas_threads(environ: Mapping[str, str] | None = None) -> object | None:
    """Limit every loaded BLAS library to one thread, unless ``environ`` sets a count.

    Returns:
        threadpoolctl's limiter (``restore_original_limits()`` undoes it), or None when the
        operator's variable was left to decide.
    """
    environ = os.environ if environ is None else environ
    if any(environ.get(name) for name in OPERATOR_VARIABLES):
        return None
    import numpy  # noqa: F401  (loads OpenBLAS, so threadpoolctl finds it)
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")
