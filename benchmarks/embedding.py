"""Query embedding cost of the local model's builds, side by side, on the eval queries.

Prints, per build, the latency of embedding one query (p50 / p90, one thread, one text per
run, as the request path does) and its vectors' cosine to the shipped fp32-arithmetic build:

- shipped:   the ONNX file as it ships (int8 storage, fp32 arithmetic);
- int8:      that exported graph with dynamic int8 arithmetic (the recipe before the rebuild);
- fused:     the default, a rebuilt graph of fused operators with int8 arithmetic.

Run from the repo root:
    python benchmarks/embedding.py            # 300 queries, two rounds
    python benchmarks/embedding.py --gap-ms 5 # idle between queries, as between requests
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

EVAL_SET = REPO.parent / "shared" / "eval" / "prefeval_explicit_dev.jsonl"
FALLBACK = [
    "Suggest a dinner recipe for tonight.",
    "What laptop should I buy for programming?",
    "Plan a weekend in Lisbon for me and my partner.",
    "Which podcasts should I try?",
]


def queries(limit: int) -> list[str]:
    if not EVAL_SET.is_file():
        return (FALLBACK * (limit // len(FALLBACK) + 1))[:limit]
    lines = EVAL_SET.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["query"] for line in lines if line.strip()][:limit]


def exported_int8(shipped: Path, work: Path) -> Path:
    """The previous recipe: dynamic int8 quantization of the exported graph, not rebuilt."""
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folded = work / "fp32.onnx"
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(folded)
    ort.InferenceSession(str(shipped), options, providers=["CPUExecutionProvider"])
    built = work / "exported-int8.onnx"
    quantize_dynamic(str(folded), str(built), weight_type=QuantType.QInt8, per_channel=True)
    return built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument(
        "--gap-ms",
        type=float,
        default=0.0,
        help="sleep between queries (caches cool down as between requests)",
    )
    args = parser.parse_args()

    from memory.offline import configure_offline

    configure_offline()
    import logging

    logging.getLogger().setLevel(logging.ERROR)
    from memory.index.embed import LocalEmbedder, _local_model_files

    texts = queries(args.queries)
    shipped = LocalEmbedder(cache_size=0, quantize="none")
    fused = LocalEmbedder(cache_size=0)
    with tempfile.TemporaryDirectory() as work:
        previous = LocalEmbedder(cache_size=0)
        # Same session settings as the default, on the previous recipe's graph.
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        previous._session = ort.InferenceSession(
            str(exported_int8(_local_model_files()[0], Path(work))),
            options,
            providers=["CPUExecutionProvider"],
        )
        previous._wants_token_types = True
        builds = {"shipped": shipped, "int8": previous, "fused": fused}
        reference = np.concatenate([shipped.embed([t]) for t in texts])
        tokens = [len(shipped._tokenizer.encode(t).ids) for t in texts]
        print(
            f"{len(texts)} queries, median {int(np.median(tokens))} tokens "
            f"(p90 {int(np.percentile(tokens, 90))}); one thread; gap {args.gap_ms} ms"
        )
        timings: dict[str, list[float]] = {name: [] for name in builds}
        for _ in range(2):  # interleaved rounds: machine noise hits every build alike
            for name, embedder in builds.items():
                for text in texts[:20]:
                    embedder.embed([text])
                for text in texts:
                    started = time.perf_counter()
                    embedder.embed([text])
                    timings[name].append((time.perf_counter() - started) * 1000)
                    if args.gap_ms:
                        time.sleep(args.gap_ms / 1000)
        print(f"\n{'build':8s} {'p50 ms':>8s} {'p90 ms':>8s} {'cos min':>8s} {'cos mean':>9s}")
        for name, embedder in builds.items():
            vectors = np.concatenate([embedder.embed([t]) for t in texts])
            cosine = np.sum(vectors * reference, axis=1)
            spent = np.array(timings[name])
            print(
                f"{name:8s} {np.percentile(spent, 50):8.2f} {np.percentile(spent, 90):8.2f} "
                f"{cosine.min():8.4f} {cosine.mean():9.5f}"
            )


if __name__ == "__main__":
    main()
