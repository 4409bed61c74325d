"""The default build of the local model: a fused graph with int8 arithmetic, made once, locally.

The shipped ONNX file stores its weights as int8 but multiplies in fp32, through a graph of
~300 small nodes. From it we build, on first start, and cache:

1. fp32 weights: onnxruntime folds the stored int8 weights into plain tensors (the quantizer
   only rewrites fp32 operators);
2. a fused graph of the same encoder (`memory.index.encoder_graph`): ~70 nodes, one contrib
   `Attention` per layer;
3. per-channel dynamic int8 quantization of its matrix products and attention projections,
   which runs onnxruntime's int8 kernels (VNNI where the CPU has it).

Measured on one core here over the eval queries (median 16 tokens, `benchmarks/embedding.py`):
p50 6.6 ms for the shipped build, 3.0 ms for step 3 alone on the exported graph, 2.1 ms for
the fused build, whose vectors sit at cosine >= 0.991 to the shipped build's; `selfmodel eval`
checks retrieval with it. Activations are quantized per input tensor, so a text's vector
would depend on the rest of its batch: the embedder runs one text per model run.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from memory.index.encoder_graph import rebuild

VARIANT = "dynamic"
# Bumped whenever the recipe changes, so that a cached build of an older recipe is not reused.
RECIPE = "fused2"


def cache_dir() -> Path:
    configured = os.environ.get("SELFMODEL_CACHE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "selfmodel"


def dynamic_int8(model: Path, directory: Path | None = None) -> Path:
    """The fused, per-channel dynamically quantized model, built from `model` on first use."""
    import onnxruntime as ort

    target_dir = directory or cache_dir()
    target = target_dir / f"{model.stem}-int8-{RECIPE}-ort{ort.__version__}.onnx"
    if target.is_file():
        return target
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:  # the quantizer needs the `onnx` package
        raise ImportError(
            "the int8 local model needs the `onnx` package (pip install onnx)"
        ) from exc
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target_dir) as work:
        folded = Path(work) / "fp32.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        fused = Path(work) / "fused.onnx"
        rebuild(folded, fused)
        built = Path(work) / "int8.onnx"
        # The word-embedding lookup stays fp32: quantizing a table (one scale for all of it)
        # costs precision and saves no time.
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # its advice to pre-process applies to image models
        try:
            quantize_dynamic(
                str(fused),
                str(built),
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul", "Attention"],
            )
        finally:
            root.setLevel(level)
        os.replace(built, target)  # atomic: a concurrent start never reads half a file
    return target
