"""Rebuilding a BERT-style sentence encoder's ONNX graph as a few fused operators.

The ONNX file we ship the local model from was exported by PyTorch's dynamo exporter: each of
its six layers is ~47 small nodes (reshapes, transposes, shape arithmetic, the attention mask
built from comparisons, a NaN guard after the softmax). On a 20-token query onnxruntime spends
more time stepping through those nodes than multiplying, and its transformer optimizer does not
recognise that export's attention to fuse it. So we write the graph anew from the same weights,
one layer as:

    Attention(x; Wq|Wk|Wv) → MatMul(Wo) + bo + x → LayerNorm
                           → MatMul(W1) → BiasGelu(b1) → MatMul(W2) + b2 + h → LayerNorm

with onnxruntime's contrib `Attention` and `BiasGelu`. It computes what the export computes:
the fp32 rebuild matches it at cosine 1.000000 on the eval queries (tested). Residual adds and
layer norms stay separate nodes on purpose: onnxruntime's fused SkipLayerNormalization kernel
measured 4x slower than Add + LayerNormalization here, so sessions disable that fusion.

Inputs are `input_ids` and `attention_mask`; token type ids are always 0 for a single sentence,
so that row of the token-type table is folded into the position table.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from memory.errors import UnsupportedGraph

# onnxruntime's optimizer would fuse our Add + Add + LayerNormalization back into this.
DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]
# Weight names as the sentence-transformers export writes them (`inner.` is its wrapper).
_PREFIX = "inner."


def _linear_layers(
    graph: Any,
    weights: dict[str, np.ndarray],
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every `MatMul(x, W) + bias` whose bias is a named initializer, by the bias's module."""
    producer = {out: node for node in graph.node for out in node.output}
    found = {}
    for node in graph.node:
        if node.op_type != "Add" or len(node.input) != 2:
            continue
        bias = node.input[1]
        matmul = producer.get(node.input[0])
        if (
            bias.endswith(".bias")
            and bias in weights
            and matmul is not None
            and matmul.op_type == "MatMul"
            and matmul.input[1] in weights
        ):
            found[bias.removesuffix(".bias")] = (weights[matmul.input[1]], weights[bias])
    return found


def rebuild(source: Path, target: Path, num_heads: int = 12) -> None:
    """Write the fused fp32 graph of the encoder in `source` (an fp32 ONNX file) to `target`."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(source))
    weights = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    epsilon = next(
        (
            a.f
            for n in model.graph.node
            if n.op_type == "LayerNormalization"
            for a in n.attribute
            if a.name == "epsilon"
        ),
        None,
    )
    linear = _linear_layers(model.graph, weights)
    layers = sorted({int(i) for i in re.findall(r"encoder\.layer\.(\d+)\.", " ".join(weights))})
    embeddings = _PREFIX + "embeddings."
    if epsilon is None or not layers or embeddings + "word_embeddings.weight" not in weights:
        raise UnsupportedGraph(f"{source} does not look like a BERT encoder export")

    nodes: list[Any] = []
    tensors: list[Any] = []

    def weight(name: str, value: np.ndarray) -> str:
        tensors.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def layer_norm(x: str, module: str, out: str) -> Any:
        return helper.make_node(
            "LayerNormalization",
            [
                x,
                weight(out + "_gamma", weights[module + ".weight"]),
                weight(out + "_beta", weights[module + ".bias"]),
            ],
            [out],
            epsilon=epsilon,
            axis=-1,
        )

    positions = (
        weights[embeddings + "position_embeddings.weight"]
        + weights[embeddings + "token_type_embeddings.weight"][0]
    )
    weight("zero", np.array([0], dtype=np.int64))
    weight("one", np.array([1], dtype=np.int64))
    weight("two", np.array([2], dtype=np.int64))
    # The word table is most of the model (30k x 384): stored as int8 with a scale per row it
    # takes a quarter of the memory, and a lookup loses nothing measurable by it (tested).
    table = weights[embeddings + "word_embeddings.weight"]
    scales = np.maximum(np.abs(table).max(axis=1, keepdims=True), 1e-12) / 127.0
    nodes += [
        helper.make_node(
            "Gather",
            [weight("word_int8", np.round(table / scales).astype(np.int8)), "input_ids"],
            ["word_rows"],
        ),
        helper.make_node(
            "Gather",
            [weight("word_scale", scales.astype(np.float32)), "input_ids"],
            ["word_row_scales"],
        ),
        helper.make_node("Cast", ["word_rows"], ["word_rows_float"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["word_rows_float", "word_row_scales"], ["words"]),
        helper.make_node("Shape", ["input_ids"], ["ids_shape"]),
        helper.make_node("Slice", ["ids_shape", "one", "two"], ["seq_len"]),
        helper.make_node(
            "Slice", [weight("positions", positions), "zero", "seq_len", "zero"], ["position_rows"]
        ),
        helper.make_node("Add", ["words", "position_rows"], ["embedded"]),
        layer_norm("embedded", embeddings + "LayerNorm", "x0"),
        helper.make_node("Cast", ["attention_mask"], ["mask"], to=TensorProto.INT32),
    ]
    x = "x0"
    for i in layers:
        module = f"{_PREFIX}encoder.layer.{i}."
        try:
            (qw, qb), (kw, kb), (vw, vb) = (
                linear[module + f"attention.self.{part}"] for part in ("query", "key", "value")
            )
            ow, ob = linear[module + "attention.output.dense"]
            w1, b1 = linear[module + "intermediate.dense"]
            w2, b2 = linear[module + "output.dense"]
        except KeyError as missing:
            raise UnsupportedGraph(f"layer {i} has no linear layer {missing}") from None
        nodes += [
            helper.make_node(
                "Attention",
                [
                    x,
                    weight(f"qkv_w{i}", np.concatenate([qw, kw, vw], axis=1)),
                    weight(f"qkv_b{i}", np.concatenate([qb, kb, vb])),
                    "mask",
                ],
                [f"attended{i}"],
                domain="com.microsoft",
                num_heads=num_heads,
            ),
            helper.make_node("MatMul", [f"attended{i}", weight(f"out_w{i}", ow)], [f"out{i}"]),
            helper.make_node("Add", [f"out{i}", weight(f"out_b{i}", ob)], [f"out_biased{i}"]),
            helper.make_node("Add", [f"out_biased{i}", x], [f"residual{i}"]),
            layer_norm(f"residual{i}", module + "attention.output.LayerNorm", f"h{i}"),
            helper.make_node("MatMul", [f"h{i}", weight(f"up_w{i}", w1)], [f"up{i}"]),
            helper.make_node(
                "BiasGelu", [f"up{i}", weight(f"up_b{i}", b1)], [f"gelu{i}"], domain="com.microsoft"
            ),
            helper.make_node("MatMul", [f"gelu{i}", weight(f"down_w{i}", w2)], [f"down{i}"]),
            helper.make_node("Add", [f"down{i}", weight(f"down_b{i}", b2)], [f"down_biased{i}"]),
            helper.make_node("Add", [f"down_biased{i}", f"h{i}"], [f"residual2_{i}"]),
            layer_norm(f"residual2_{i}", module + "output.LayerNorm", f"x{i + 1}"),
        ]
        x = f"x{i + 1}"
    nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"]))
    hidden = int(table.shape[1])
    # Shape inference cannot type what contrib operators produce; the quantizer needs types.
    floats = [
        out
        for node in nodes
        for out in node.output
        if node.op_type not in ("Shape", "Slice")
        and node.output[0] != "mask"
        and node.output[0] != "word_rows"
    ]
    graph = helper.make_graph(
        nodes,
        "sentence-encoder",
        [
            helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
            for name in ("input_ids", "attention_mask")
        ],
        [
            helper.make_tensor_value_info(
                "last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", hidden]
            )
        ],
        tensors,
        value_info=[
            helper.make_tensor_value_info(name, TensorProto.FLOAT, None)
            for name in floats
            if name != "last_hidden_state"
        ],
    )
    rebuilt = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )
    rebuilt.ir_version = model.ir_version
    onnx.checker.check_model(rebuilt)
    onnx.save(rebuilt, str(target))
