"""Measure the README's "Choosing an encoder" table: quality, ms per query and memory per model.

For each catalogue encoder (``knowledge_base/encoder_catalog.py``; installed with ``tier1
models install NAME``):

- quality, through ``benchmarks/kb_eval.py``'s own ``evaluate`` (the product's code path:
  a throwaway KB, ``search_many``, ``decide``; thresholds chosen on validation only):
  BANKING77 top-1; CLINC150 top-1, in-scope accuracy and out-of-scope recall at the
  validation-MCC threshold; learned_head with and without the character n-grams
  (``--lexical-weight 0.5``);
- ms per query: one sentence at a time on ONE core (the process is pinned to one CPU, one
  thread), p50 over CLINC150 test texts, torch and onnx runtimes, in a fresh subprocess each;
- memory: resident set size of that subprocess after loading the model and encoding one
  sentence, and its growth over the same process with torch, sentence-transformers and
  onnxruntime imported but no model loaded (onnx: torch loads the model once to check the
  export; freed memory may stay in the process).

Vectors are cached per dataset + model in .tier1/bench-cache/kbeval-<dataset>-<model>.npz (the
same files kb_eval.py uses for MiniLM), written every chunk, so an interrupted run resumes. The
bulk encoding uses the ONNX runtime on ``--threads`` threads (its vectors agree with torch's to
cosine >= 0.9999, checked at every load). all-mpnet-base-v2 takes ~15-25 min for both datasets
on 2 busy cores; MiniLM ~4 min.

Example:
    nice -n 10 .venv/bin/python benchmarks/model_table.py                  # everything
    nice -n 10 .venv/bin/python benchmarks/model_table.py --stage encode   # fill the caches
    .venv/bin/python benchmarks/model_table.py --stage latency --models all-mpnet-base-v2
    .venv/bin/python benchmarks/model_table.py --stage table               # reprint from JSON
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
DATA = REPO.parent / "shared" / "datasets"
CACHE = REPO / ".tier1" / "bench-cache"
MODELS_DIR = REPO / ".tier1" / "encoders"
ONNX_CACHE = REPO / ".tier1" / "onnx"
RESULTS = CACHE / "model_table.json"

from knowledge_base import encoder_catalog

METHODS = ("learned_head", "learned_head+lexical0.5")
DATASETS = ("banking77", "clinc150")
RUNTIMES = ("torch", "onnx")


def embedder(model: str, runtime: str = "onnx", threads: int = 1, batch_size: int = 64):
    from knowledge_base.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(
        encoder_catalog.setting_for(model),
        batch_size=batch_size,
        runtime=runtime,
        threads=threads,
        cache_dir=ONNX_CACHE,
        models_dir=MODELS_DIR,
    )


def cache_path(dataset: str, model: str) -> Path:
    return CACHE / f"kbeval-{dataset}-{model}.npz"


def cached(dataset: str, model: str, threads: int = 2):
    from knowledge_base.evaluation import CachedEmbedder

    return CachedEmbedder(
        embedder(model, "onnx", threads, batch_size=64), cache_path(dataset, model)
    )


def dataset_texts(data) -> list[str]:
    """Every text the evaluation encodes: queries as given, KB variants whitespace-normalised."""
    texts: list[str] = []
    for split in (data.train, data.val, data.test):
        if split is not None:
            for t in split.texts:
                texts += [t, " ".join(t.split())]
    return list(dict.fromkeys(t for t in texts if t))


def fill(cache, texts: list[str], chunk: int, desc: str) -> None:
    """Encode ``texts`` into ``cache``, saving after every chunk (longest texts batched together),
    so an interrupted run resumes where it stopped."""
    from tqdm import tqdm

    texts = sorted(texts, key=len)
    bar = tqdm(total=len(texts), desc=desc, unit="text")
    for i in range(0, len(texts), chunk):
        part = texts[i : i + chunk]
        cache.encode(part)
        cache.save()
        bar.update(len(part))
    bar.close()


def encode_stage(
    models: list[str], datasets: list[str], threads: int, chunk: int, results: dict
) -> None:
    """Fill the vector caches (``fill``)."""
    from kb_eval import load

    for model in models:
        for name in datasets:
            cache = cached(name, model, threads)
            missing = [t for t in dataset_texts(load(name)) if t not in cache._vectors]
            print(f"== encode {name} with {model}: {len(missing)} texts to encode", flush=True)
            if not missing:
                continue
            started = time.perf_counter()
            fill(cache, missing, chunk, f"{model} {name}")
            rate = len(missing) / (time.perf_counter() - started)
            print(f"   {rate:.1f} texts/s on {threads} onnx threads", flush=True)
        results.setdefault("agreement", {})[model] = agreement(model, datasets[-1])
        save(results)


def agreement(model: str, dataset: str, n: int = 200) -> dict:
    """Cosine between the cached (onnx) vectors and torch's, on ``n`` random cached texts."""
    import random

    import numpy as np

    with np.load(cache_path(dataset, model), allow_pickle=False) as data:
        texts, vectors = data["texts"].tolist(), data["vectors"]
    rows = random.Random(0).sample(range(len(texts)), min(n, len(texts)))
    torch_vectors = embedder(model, "torch").encode([texts[i] for i in rows])
    cos = np.sum(torch_vectors * vectors[rows], axis=1)
    found = {"n": len(rows), "min_cosine": float(cos.min()), "dataset": dataset}
    print(f"   onnx vs torch on {len(rows)} {dataset} texts: min cosine {cos.min():.7f}", flush=True)
    if cos.min() < 0.9999:
        raise SystemExit(f"{model}: cached vectors disagree with torch (cosine {cos.min():.6f})")
    return found


def quality_stage(
    models: list[str], datasets: list[str], results: dict, methods: tuple[str, ...] = METHODS
) -> None:
    from kb_eval import evaluate, load

    from knowledge_base.settings import KnowledgeBaseSettings

    settings = KnowledgeBaseSettings(seed_file=None, index={"type": "faiss"})
    for model in models:
        for name in datasets:
            data = load(name)
            emb = cached(name, model)
            for method in methods:
                print(f"== quality {name} / {method} / {model}", file=sys.stderr, flush=True)
                row = evaluate(name, method, data, emb, settings)
                row["model"] = model
                results.setdefault("quality", {})[f"{model}|{name}|{method}"] = row
                save(results)


class _Int8Embedder:
    """MiniLM through a dynamically int8-quantised copy of its ONNX export (measured only)."""

    name = "packaged:all-MiniLM-L6-v2"
    dimensions = 384

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime

        from knowledge_base.onnx_runtime import OnnxEncoder

        model = embedder("all-MiniLM-L6-v2", "torch")._load_model()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._encoder = OnnxEncoder(session, model.tokenizer, model.max_seq_length, "mean")

    def encode(self, texts, *, progress: bool = False):
        return self._encoder.encode(list(texts), 64, progress)


def int8_stage(results: dict, n: int) -> None:
    """int8 ONNX (onnxruntime quantize_dynamic) for MiniLM: BANKING77 top-1 and ms per query.

    onnxruntime's quantizer needs onnx >= 1.16; tier1 pins 1.15 (Rasa's protobuf), so run it
    with a newer onnx on the path, e.g. ``pip install --no-deps --target /tmp/onnx117
    onnx==1.17.0`` and ``PYTHONPATH=/tmp/onnx117``.
    """
    from kb_eval import evaluate, load

    from knowledge_base.evaluation import CachedEmbedder
    from knowledge_base.onnx_runtime import cache_file
    from knowledge_base.settings import KnowledgeBaseSettings

    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except (ImportError, AttributeError) as e:
        raise SystemExit(f"onnxruntime.quantization does not load ({e}): see int8_stage's doc")
    fp32 = embedder("all-MiniLM-L6-v2", "onnx")
    fp32.load()
    exported = cache_file(fp32.path, ONNX_CACHE)
    int8 = CACHE / "all-MiniLM-L6-v2-int8.onnx"
    if not int8.exists():
        quantize_dynamic(str(exported), str(int8), weight_type=QuantType.QInt8)
    quantised = _Int8Embedder(int8, 2)
    data = load("banking77")
    cached_int8 = CachedEmbedder(quantised, cache_path("banking77", "all-MiniLM-L6-v2-int8"))
    settings = KnowledgeBaseSettings(seed_file=None, index={"type": "faiss"})
    row = {"size_mb": int8.stat().st_size / 1e6, "fp32_size_mb": exported.stat().st_size / 1e6}
    for method in METHODS:
        row[method] = evaluate("banking77", method, data, cached_int8, settings)["top1"]
    texts = data.test.texts[:n]
    row["min_cosine"] = float((fp32.encode(texts) * quantised.encode(texts)).sum(1).min())
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    for label, emb in (("fp32", embedder("all-MiniLM-L6-v2", "onnx")), ("int8", _Int8Embedder(int8, 1))):
        emb.encode(["warm up"])
        times = []
        for t in texts:
            t0 = time.perf_counter()
            emb.encode([t])
            times.append(1000 * (time.perf_counter() - t0))
        times.sort()
        row[f"{label}_p50_ms"] = times[len(times) // 2]
    print(f"   int8: {row}", flush=True)
    results["int8"] = row
    save(results)


_PROBE = """
import json, os, resource, sys, time
os.sched_setaffinity(0, {{min(os.sched_getaffinity(0))}})
import torch
torch.set_num_threads(1)
sys.path.insert(0, {repo!r}); sys.path.insert(0, {bench!r})
from model_table import embedder
from knowledge_base.evaluation import load_clinc

def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

texts = load_clinc({clinc!r}).test.texts[: {n}]
import onnxruntime, sentence_transformers  # libraries in "before": the growth is the model's
before = rss_mb()
emb = embedder({model!r}, {runtime!r}, threads=1)
emb.encode(["warm up"])
loaded = rss_mb()
times = []
for t in texts:
    t0 = time.perf_counter()
    emb.encode([t])
    times.append(1000 * (time.perf_counter() - t0))
times.sort()
print(json.dumps({{
    "p50": times[len(times) // 2], "p95": times[int(0.95 * len(times))], "n": len(times),
    "rss_mb": loaded, "model_mb": loaded - before, "load_average": os.getloadavg()[0],
}}))
"""


def latency_stage(models: list[str], runtimes: list[str], n: int, results: dict) -> None:
    """ms per query (one sentence, one core, one thread) and RSS, in a fresh process each."""
    for model in models:
        for runtime in runtimes:
            code = _PROBE.format(
                repo=str(REPO),
                bench=str(REPO / "benchmarks"),
                clinc=str(DATA / "clinc150" / "data_full.json"),
                model=model,
                runtime=runtime,
                n=n,
            )
            print(f"== latency {model} / {runtime} (1 core, {n} sentences)", flush=True)
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=False
            )
            if out.returncode != 0:
                print(out.stderr[-2000:], file=sys.stderr)
                raise SystemExit(f"the latency probe failed for {model} / {runtime}")
            row = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"   {row}", flush=True)
            results.setdefault("latency", {})[f"{model}|{runtime}"] = row
            save(results)


def save(results: dict) -> None:
    """Merge ``results`` into the JSON file (stages may run in separate processes)."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    merged = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for key, value in results.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key].update(value)
        else:
            merged[key] = value
    tmp = RESULTS.with_suffix(".tmp")
    tmp.write_text(json.dumps(merged, indent=2))
    tmp.replace(RESULTS)
    results.update(merged)


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def markdown(results: dict, models: list[str]) -> str:
    """The README table: one row per model."""
    q = results.get("quality", {})
    lat = results.get("latency", {})
    head = (
        "| model | BANKING77 top-1 (+ n-grams) | CLINC150 top-1 (+ n-grams) "
        "| CLINC150 in-scope / OOS recall @ val threshold | same + n-grams "
        "| ms per query, 1 core: onnx / torch (p50) | memory (RSS; model) | disk |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for model in models:
        entry = encoder_catalog.get(model)

        def get(name, method, model=model):
            return q.get(f"{model}|{name}|{method}")

        def top1(name, model=model):
            a, b = (get(name, m) for m in METHODS)
            return f"{_pct(a and a['top1'])} ({_pct(b and b['top1'])})"

        def point(method):
            r = get("clinc150", method)
            m = r and r.get("mcc")
            if not m or "error" in m:
                return "–"
            return f"{_pct(m['in_scope_accuracy'])} / {_pct(m['oos_recall'])}"

        def ms(runtime, model=model):
            r = lat.get(f"{model}|{runtime}")
            return "–" if r is None else f"{r['p50']:.1f}"

        mem = lat.get(f"{model}|onnx") or lat.get(f"{model}|torch")
        memory = "–" if mem is None else f"{mem['rss_mb']:.0f} MB; +{mem['model_mb']:.0f} MB"
        name = f"`{model}`" + (" (default)" if entry.packaged else "")
        lines.append(
            f"| {name} | {top1('banking77')} | {top1('clinc150')} | {point(METHODS[0])} "
            f"| {point(METHODS[1])} | {ms('onnx')} / {ms('torch')} | {memory} "
            f"| {entry.size_mb} MB |"
        )
    return "\n".join(lines)


def detail(results: dict, models: list[str]) -> str:
    """QUALITY.md's table: every scoring, the val-MCC point and the goal-shaped point."""
    q = results.get("quality", {})
    lines = [
        (
            "| model | scoring | BANKING77 top-1 | CLINC150 top-1 | CLINC150 in / oos @ val-MCC "
            "threshold | in / oos @ best val in-scope with val oos ≥ 75 |"
        ),
        "|---|---|---|---|---|---|",
    ]

    def point(r, key):
        m = r and r.get(key)
        if not m or "error" in m:
            return "–"
        return (
            f"{_pct(m['in_scope_accuracy'])} / {_pct(m['oos_recall'])} ({m['threshold']:.3f})"
        )

    for model in models:
        for method in METHODS:
            b77 = q.get(f"{model}|banking77|{method}")
            clinc = q.get(f"{model}|clinc150|{method}")
            scoring = method.replace("+lexical0.5", " + n-grams 0.5")
            lines.append(
                f"| {model} | {scoring} | {_pct(b77 and b77['top1'])} "
                f"| {_pct(clinc and clinc['top1'])} | {point(clinc, 'mcc')} "
                f"| {point(clinc, 'goal')} |"
            )
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--models", nargs="+", default=list(encoder_catalog.ENCODERS))
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    p.add_argument(
        "--stage",
        choices=["all", "encode", "quality", "latency", "int8", "table"],
        default="all",
    )
    p.add_argument("--threads", type=int, default=2, help="onnx threads for the bulk encoding")
    p.add_argument("--chunk", type=int, default=2048, help="texts encoded between cache saves")
    p.add_argument("--latency-queries", type=int, default=200)
    p.add_argument("--runtimes", nargs="+", default=list(RUNTIMES), choices=RUNTIMES)
    p.add_argument(
        "--methods", nargs="+", default=list(METHODS),
        help="scorings of the quality stage; +lexicalW adds n-grams with weight W, ^A sets the "
        "head's probability exponent A (default: %(default)s)",
    )
    args = p.parse_args()
    for model in args.models:
        encoder_catalog.get(model)  # fail early on a typo
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if args.stage in ("all", "encode"):
        encode_stage(args.models, args.datasets, args.threads, args.chunk, results)
    if args.stage in ("all", "quality"):
        quality_stage(args.models, args.datasets, results, tuple(args.methods))
    if args.stage in ("all", "latency"):
        latency_stage(args.models, args.runtimes, args.latency_queries, results)
    if args.stage == "int8":
        int8_stage(results, args.latency_queries)
    results["load_average"] = os.getloadavg()
    save(results)
    models = [m for m in encoder_catalog.ENCODERS if m in args.models]
    print(markdown(results, models))
    print()
    print(detail(results, models))
    if "int8" in results:
        print(f"\nint8 MiniLM: {results['int8']}")
    print(f"\nJSON: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
