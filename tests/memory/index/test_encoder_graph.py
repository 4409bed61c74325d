"""The rebuilt encoder graph computes what the exported one computes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from tokenizers import Tokenizer

from memory.index.embed import _TOKENIZER_PATH, _local_model_files
from memory.index.encoder_graph import UnsupportedGraph, rebuild

TEXTS = [
    "I am vegetarian and never eat meat.",
    "Suggest a dinner recipe for tonight.",
    "What are some good places to eat in Bangkok this weekend with my two kids?",
    "tea",
]


def _session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _pooled(session: ort.InferenceSession, ids: list[int]) -> np.ndarray:
    batch = np.array([ids], dtype=np.int64)
    feeds = {"input_ids": batch, "attention_mask": np.ones_like(batch)}
    if any(i.name == "token_type_ids" for i in session.get_inputs()):
        feeds["token_type_ids"] = np.zeros_like(batch)
    pooled = session.run(None, feeds)[0][0].mean(axis=0)
    return pooled / np.linalg.norm(pooled)


@pytest.fixture(scope="module")
def graphs(tmp_path_factory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("graphs")
    folded = work / "fp32.onnx"
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(folded)
    ort.InferenceSession(str(_local_model_files()[0]), options, providers=["CPUExecutionProvider"])
    fused = work / "fused.onnx"
    rebuild(folded, fused)
    return folded, fused


def test_the_fused_graph_matches_the_export(graphs):
    folded, fused = graphs
    exported, rebuilt = _session(folded), _session(fused)
    tokenizer = Tokenizer.from_file(str(_TOKENIZER_PATH))
    tokenizer.no_padding()
    for text in TEXTS:
        ids = tokenizer.encode(text).ids
        assert float(_pooled(exported, ids) @ _pooled(rebuilt, ids)) > 0.99999
    nodes = len(onnx.load(str(fused)).graph.node)
    assert nodes < 100  # the point of the rebuild: ~70 nodes instead of ~300


def test_a_graph_of_another_layout_is_refused(tmp_path):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "not-bert",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    source = tmp_path / "other.onnx"
    onnx.save(helper.make_model(graph), str(source))
    with pytest.raises(UnsupportedGraph):
        rebuild(source, tmp_path / "out.onnx")
