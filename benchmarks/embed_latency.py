"""Single-sentence embedding latency: sentence-transformers on torch vs tier1's ONNX runtimes.

Encodes the demo knowledge base's questions (knowledge_base/demo/articles.yml, in file order,
then the article titles) one at a time, as a chat message is, and reports p50/p95 per setup:

  (a) SentenceTransformer.encode([q]), torch's default thread count (one per core)
  (b) the same on 1 torch thread
  (c) tier1's SentenceTransformerEmbedder(runtime="onnx", threads=1)
  (d) the same with threads=2 (one row per --onnx-threads value)
  (e) tier1's runtime="onnx-int8" (the export quantised to int8), same thread counts

then the same with --callers threads encoding at once (concurrent chats), the cosine between
the onnx (and int8) and torch vectors of every question, and the throughput of encoding them
all in one call, --batch-size per pass (as imports and evaluation do; int8 runs texts one at a
time regardless). int8 needs onnxruntime's quantiser (onnx >= 1.16); without it its rows are
skipped with the reason. Setups run one after another in
one process, each after --warmup encodes, so a busy machine (a running tier1 stack) slows all
of them; compare ratios, and note the load average printed first.

example:
  .venv/bin/python benchmarks/embed_latency.py
  .venv/bin/python benchmarks/embed_latency.py --count 100 --onnx-threads 1 --callers 4

measured 2026-12-05 (2-core AMD EPYC with AVX-512 VNNI, load average 1.5), p50 / p95 ms of one
sentence on 1 thread: torch 9.6 / 11.3, onnx 3.5 / 4.6, onnx-int8 0.75 / 1.7; two callers at
once 11.5 / 3.7 / 0.8 p50; cosine to torch: onnx 1.000000, onnx-int8 min 0.986, mean 0.994;
all 200 in one call: torch 319/s, onnx 635/s, onnx-int8 1 420/s (1 thread each). int8 on 2
threads is no faster (0.88 ms): one sentence is too little work to split.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge_base.embedder import SentenceTransformerEmbedder, resolve_model_path
from knowledge_base.errors import EmbedderError
from knowledge_base.settings import DEFAULT_ONNX_CACHE_DIR, PACKAGED_MODEL

ARTICLES = ROOT / "knowledge_base" / "demo" / "articles.yml"


def demo_questions(count: int) -> list[str]:
    """The first ``count`` of the demo KB's questions, then its titles (file order)."""
    articles = yaml.safe_load(ARTICLES.read_text(encoding="utf-8"))["articles"]
    texts = [q for a in articles for q in a.get("questions", [])] + [a["title"] for a in articles]
    if count > len(texts):
        raise SystemExit(f"--count {count}: the demo KB has only {len(texts)} questions")
    return texts[:count]


def latencies_ms(encode: Callable[[list[str]], object], texts: Sequence[str], warmup: int):
    """Milliseconds of each ``encode([text])``, after ``warmup`` untimed ones."""
    for text in texts[:warmup]:
        encode([text])
    out = []
    for text in texts:
        start = time.perf_counter()
        encode([text])
        out.append((time.perf_counter() - start) * 1000)
    return np.array(out)


def concurrent_latencies_ms(
    encode: Callable[[list[str]], object], texts: Sequence[str], callers: int
) -> np.ndarray:
    """``latencies_ms`` with ``callers`` threads encoding at once (each a share of ``texts``),
    as concurrent chats do; torch and ONNX Runtime release the GIL while they compute."""
    barrier = threading.Barrier(callers)

    def run(offset: int) -> np.ndarray:
        barrier.wait()
        return latencies_ms(encode, texts[offset::callers], warmup=0)

    with ThreadPoolExecutor(callers) as pool:
        return np.concatenate(list(pool.map(run, range(callers))))


def print_latencies(title: str, rows: list[tuple[str, np.ndarray]]) -> None:
    base50, base95 = np.percentile(rows[0][1], [50, 95])
    print(f"\n{title}")
    header = f"{'setup':<36} {'p50 ms':>7} {'p95 ms':>7} {'mean ms':>8}"
    print(f"{header} {'p50 vs (a)':>11} {'p95 vs (a)':>11}")
    for name, ms in rows:
        p50, p95 = np.percentile(ms, [50, 95])
        print(
            f"{name:<36} {p50:7.2f} {p95:7.2f} {ms.mean():8.2f} "
            f"{p50 / base50:10.2f}x {p95 / base95:10.2f}x"
        )


def throughput(encode: Callable[[list[str]], object], texts: list[str], rounds: int) -> float:
    """Sentences per second of one ``encode(texts)`` call, as an import makes; best of
    ``rounds``. Both encoders sort by length and run ``--batch-size`` texts per pass."""
    encode(texts)
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        encode(texts)
        best = max(best, len(texts) / (time.perf_counter() - start))
    return best


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--count", type=int, default=200, help="questions to encode (default 200)")
    p.add_argument("--warmup", type=int, default=20, help="untimed encodes per setup")
    p.add_argument(
        "--onnx-threads",
        default="1,2",
        help="comma-separated ONNX Runtime thread counts, one row each (default 1,2)",
    )
    p.add_argument(
        "--callers",
        type=int,
        default=2,
        help="also measure this many threads encoding at once (default 2; 1: skip)",
    )
    p.add_argument("--batch-size", type=int, default=64, help="sentences per batch (default 64)")
    p.add_argument("--batch-rounds", type=int, default=3, help="batch passes; best counts")
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_ONNX_CACHE_DIR,
        help=f"ONNX export cache (default {DEFAULT_ONNX_CACHE_DIR})",
    )
    args = p.parse_args(argv)
    onnx_threads = [int(t) for t in args.onnx_threads.split(",")]

    import onnxruntime
    import torch
    from sentence_transformers import SentenceTransformer

    texts = demo_questions(args.count)
    default_threads = torch.get_num_threads()
    print(
        f"{len(texts)} questions from {ARTICLES.relative_to(ROOT)}; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}; torch {torch.__version__} "
        f"(default {default_threads} threads), onnxruntime {onnxruntime.__version__}"
    )
    model = SentenceTransformer(
        str(resolve_model_path(PACKAGED_MODEL)), device="cpu", local_files_only=True
    )

    def st_encode(batch: list[str]) -> np.ndarray:
        return model.encode(
            batch, batch_size=args.batch_size, normalize_embeddings=True, show_progress_bar=False
        )

    onnx = {
        n: SentenceTransformerEmbedder(
            PACKAGED_MODEL,
            batch_size=args.batch_size,
            runtime="onnx",
            cache_dir=args.cache_dir,
            threads=n,
        )
        for n in onnx_threads
    }
    for embedder in onnx.values():
        embedder.load()
    int8: dict[int, SentenceTransformerEmbedder] = {}
    try:
        for n in onnx_threads:
            int8[n] = SentenceTransformerEmbedder(
                PACKAGED_MODEL,
                batch_size=args.batch_size,
                runtime="onnx-int8",
                cache_dir=args.cache_dir,
                threads=n,
            )
            int8[n].load()
    except EmbedderError as e:
        print(f"onnx-int8 skipped: {e}")
        int8 = {}

    # (name, encode, torch threads while it runs)
    setups: list[tuple[str, Callable[[list[str]], object], int]] = [
        (f"(a) torch encode([q]), {default_threads} threads", st_encode, default_threads),
        ("(b) torch encode([q]), 1 thread", st_encode, 1),
    ]
    labels = iter("cdefghijkl")
    for runtime, embedders in (("onnx", onnx), ("onnx-int8", int8)):
        for n, embedder in embedders.items():
            name = f"({next(labels)}) tier1 {runtime}, {n} thread{'s' * (n > 1)}"
            setups.append((name, embedder.encode, 1))

    rows = []
    for name, encode, threads in setups:
        torch.set_num_threads(threads)
        rows.append((name, latencies_ms(encode, texts, args.warmup)))
    print_latencies(
        f"single sentence ({len(texts)} encodes each, after {args.warmup} warm-up)", rows
    )
    if args.callers > 1:
        rows = []
        for name, encode, threads in setups:
            torch.set_num_threads(threads)
            rows.append((name, concurrent_latencies_ms(encode, texts, args.callers)))
        print_latencies(f"{args.callers} callers at once ({len(texts)} encodes in all)", rows)

    torch.set_num_threads(default_threads)
    reference = st_encode(texts)
    print()
    for runtime, embedders in (("onnx", onnx), ("onnx-int8", int8)):
        if embedders:
            cosines = np.sum(next(iter(embedders.values())).encode(texts) * reference, axis=1)
            print(
                f"cosine {runtime} vs torch over {len(texts)} questions: "
                f"min {cosines.min():.6f}, mean {cosines.mean():.6f}"
            )

    print(
        f"\nbatches: all {len(texts)} sentences in one encode, {args.batch_size} per pass "
        f"(best of {args.batch_rounds})"
    )
    print(f"{'setup':<36} {'sentences/s':>12}")
    batch_rows: list[tuple[str, float]] = []
    for n in sorted({default_threads, 1}, reverse=True):
        torch.set_num_threads(n)
        batch_rows.append(
            (
                f"torch, {n} thread{'s' * (n > 1)}",
                throughput(st_encode, texts, args.batch_rounds),
            )
        )
    torch.set_num_threads(default_threads)
    for runtime, embedders in (("onnx", onnx), ("onnx-int8", int8)):
        for n, embedder in embedders.items():
            batch_rows.append(
                (
                    f"tier1 {runtime}, {n} thread{'s' * (n > 1)}",
                    throughput(embedder.encode, texts, args.batch_rounds),
                )
            )
    for name, rate in batch_rows:
        print(f"{name:<36} {rate:12.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
