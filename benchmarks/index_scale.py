"""How the knowledge-base index scales: exact search vs. HNSW on synthetic passages.

For each corpus size it builds tier1's two FAISS backends (``FaissIndex``: exact
``IndexFlatIP``; ``HnswIndex``: ``IndexHNSWFlat``, inner product) over random unit vectors
with cluster structure (d=384, like all-MiniLM-L6-v2), then measures on ONE search thread
(``faiss.omp_set_num_threads(1)``): single-query latency p50/p95, recall@10 against the
exact results of the same run, memory (RSS growth while building) and build time. HNSW is
measured at each ``--ef-search`` value on the same graph. Each index is built in a forked
child process so its memory is measured alone.

example:
  .venv/bin/python benchmarks/index_scale.py --sizes 100000
  .venv/bin/python benchmarks/index_scale.py --sizes 100000,1000000 --ef-search 64,128 --markdown
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge_base.index import FaissIndex, HnswIndex

_CHUNK = 50_000


@dataclass
class Row:
    size: int
    index: str
    build_s: float
    rss_mb: float
    p50_ms: float
    p95_ms: float
    recall: float


def rss_mb() -> float:
    """Resident set size of this process (Linux /proc; no psutil needed)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def unit_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def synthetic(n: int, dims: int, centres: np.ndarray, spread: float, rng, desc: str) -> np.ndarray:
    """``n`` unit vectors around cluster centres: topic, then one of 8 sub-topics, then noise.

    The two-level structure gives neighbourhoods the contrast real passage embeddings have;
    isotropic noise alone makes every in-cluster neighbour equally far (a worst case no
    text corpus shows).
    """
    out = np.empty((n, dims), dtype=np.float32)
    sub = np.random.default_rng(1).standard_normal((8, dims), dtype=np.float32) * spread
    for start in tqdm(range(0, n, _CHUNK), desc=desc, unit="chunk", leave=False):
        stop = min(n, start + _CHUNK)
        which = rng.integers(0, len(centres), stop - start)
        # sub-topic directions differ per topic: rotate the 8 shared ones by the topic index
        cols = (np.arange(dims, dtype=np.int32)[None, :] - (which % dims)[:, None]) % dims
        subtopic = sub[rng.integers(0, 8, stop - start)[:, None], cols]
        noise = rng.standard_normal((stop - start, dims), dtype=np.float32) * (spread / 2)
        out[start:stop] = unit_rows(centres[which] + subtopic + noise)
    return out


def build(index, data: np.ndarray, desc: str) -> tuple[float, float]:
    """Add ``data`` in chunks; return (seconds, RSS growth in MB)."""
    gc.collect()
    before, start = rss_mb(), time.perf_counter()
    for lo in tqdm(range(0, len(data), _CHUNK), desc=desc, unit="chunk", leave=False):
        hi = min(len(data), lo + _CHUNK)
        index.add(np.arange(lo, hi, dtype=np.int64), data[lo:hi])
    return time.perf_counter() - start, rss_mb() - before


def timed_search(index, queries: np.ndarray, k: int, desc: str) -> tuple[np.ndarray, np.ndarray]:
    """One query at a time (what a chat does); return (latencies in ms, ids)."""
    latencies = np.empty(len(queries))
    found = np.empty((len(queries), k), dtype=np.int64)
    for i in tqdm(range(len(queries)), desc=desc, unit="q", leave=False):
        start = time.perf_counter()
        _, ids = index.search(queries[i : i + 1], k)
        latencies[i] = (time.perf_counter() - start) * 1000
        found[i, : ids.shape[1]] = ids[0]
    return latencies, found


def recall_at(truth: np.ndarray, found: np.ndarray) -> float:
    k = truth.shape[1]
    return float(np.mean([len(set(t) & set(f)) / k for t, f in zip(truth, found)]))


def _measure(make, data, queries, k, build_threads, ef_values, desc, timed, conn) -> None:
    """In a forked child, so RSS growth is this index's alone (freed memory of an earlier
    index would otherwise be reused and hide it): build, then time searches on one thread.

    ``timed`` caps how many single queries are timed; the results returned for recall are
    then those of one batched search over all queries (same index, same answers, many
    threads), so exact search at a million passages does not take half an hour to time.
    """
    import faiss

    faiss.omp_set_num_threads(build_threads)
    index = make()
    build_s, mem = build(index, data, f"{desc}: add")
    results = []
    for ef in ef_values:
        if ef is not None:
            index.ef_search = ef
        faiss.omp_set_num_threads(1)
        label = f"{desc} ef={ef}: search" if ef else f"{desc}: search"
        lat, found = timed_search(index, queries[:timed], k, label)
        if timed < len(queries):
            faiss.omp_set_num_threads(build_threads)
            found = index.search(queries, k)[1]
        results.append((ef, build_s, mem, *np.percentile(lat, [50, 95]), found))
    conn.send(results)
    conn.close()


def _in_child(*args) -> list:
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_measure, args=(*args, child))
    proc.start()
    results = parent.recv()
    proc.join()
    if proc.exitcode:
        raise RuntimeError(f"the benchmark child failed with exit code {proc.exitcode}")
    return results


def run_size(n: int, args, rng) -> list[Row]:
    centres = unit_rows(rng.standard_normal((args.clusters, args.dims)))
    data = synthetic(n, args.dims, centres, args.spread, rng, f"{n:,} passages")
    queries = synthetic(args.queries, args.dims, centres, args.spread, rng, "queries")
    common = (data, queries, args.k, args.build_threads)
    ((_, build_s, mem, p50, p95, truth),) = _in_child(
        lambda: FaissIndex(args.dims), *common, [None], "exact", args.exact_queries
    )
    rows = [Row(n, "exact (IndexFlatIP)", build_s, mem, p50, p95, 1.0)]
    hnsw = _in_child(
        lambda: HnswIndex(args.dims, m=args.m, ef_construction=args.ef_construction),
        *common,
        args.ef_search,
        f"hnsw M={args.m}",
        args.queries,
    )
    for ef, build_s, mem, p50, p95, found in hnsw:
        name = f"hnsw M={args.m} efC={args.ef_construction} efS={ef}"
        rows.append(Row(n, name, build_s, mem, p50, p95, recall_at(truth, found)))
    return rows


def table(rows: list[Row], markdown: bool) -> str:
    head = [
        "passages",
        "index",
        "build s",
        "RSS MB",
        "p50 ms",
        "p95 ms",
        "recall@10",
        "p95 vs exact",
        "RSS vs exact",
    ]
    body = []
    baseline = {r.size: r for r in rows if r.index.startswith("exact")}
    for r in rows:
        base = baseline[r.size]
        body.append(
            [
                f"{r.size:,}",
                r.index,
                f"{r.build_s:.1f}",
                f"{r.rss_mb:.0f}",
                f"{r.p50_ms:.2f}",
                f"{r.p95_ms:.2f}",
                f"{r.recall:.3f}",
                f"{r.p95_ms / base.p95_ms:.3f}x",
                f"{r.rss_mb / base.rss_mb:.2f}x" if base.rss_mb > 0 else "n/a",
            ]
        )
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(
        [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
        + [fmt.format(*row) for row in body]
    )


def _ints(text: str) -> list[int]:
    return [int(x.replace("_", "")) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[-1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--sizes", type=_ints, default=[100_000], help="comma-separated corpus sizes")
    p.add_argument("--queries", type=int, default=1000, help="timed single queries per index")
    p.add_argument(
        "--exact-queries",
        type=int,
        default=200,
        help="how many of the queries time exact search (its recall ground truth always "
        "covers all of them, from one batched search)",
    )
    p.add_argument("--dims", type=int, default=384)
    p.add_argument("--clusters", type=int, default=2000, help="topic clusters in the corpus")
    p.add_argument(
        "--spread",
        type=float,
        default=0.06,
        help="per-dimension sub-topic offset (noise is half of it)",
    )
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--m", type=int, default=32, help="HNSW neighbours per node")
    p.add_argument("--ef-construction", type=int, default=200)
    p.add_argument("--ef-search", type=_ints, default=[64, 128, 256], help="comma-separated")
    p.add_argument(
        "--build-threads",
        type=int,
        default=1,
        help="FAISS threads while building (searches always use one); more than the "
        "idle cores makes OpenMP spin and the build far slower",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = p.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    rows: list[Row] = []
    for n in args.sizes:
        rows += run_size(n, args, rng)
        print(table([r for r in rows if r.size == n], args.markdown), flush=True)
        print(flush=True)
    if len(args.sizes) > 1:
        print(table(rows, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
