"""The embedders, on the real local model and on a mocked OpenAI-compatible upstream."""

from __future__ import annotations

import base64
import json
import os
from concurrent.futures import ThreadPoolExecutor

# Before litellm is imported anywhere in this process: no cost-map fetch offline.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import httpx
import numpy as np
import pytest
import respx

from memory.index.embed import (
    Embedder,
    EmbeddingError,
    LiteLLMEmbedder,
    LocalEmbedder,
    build_embedder,
)

UPSTREAM = "http://upstream.test/v1"


@pytest.fixture(scope="module")
def local() -> LocalEmbedder:
    # Loading takes a few hundred ms: share one model across the module.
    return LocalEmbedder(batch_size=4)


def test_local_shape_dtype_and_norm(local: LocalEmbedder) -> None:
    assert isinstance(local, Embedder)
    assert local.name == "local/all-MiniLM-L6-v2-int8-fused2"
    assert local.dim == 384
    vectors = local.embed(["hello world", "the user prefers short answers", ""])
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_local_is_semantic(local: LocalEmbedder) -> None:
    vegetarian, no_meat, red_car = local.embed(
        ["I am vegetarian", "I don't eat meat", "my car is red"]
    )
    assert vegetarian @ no_meat > vegetarian @ red_car + 0.2


def test_batch_equals_one_by_one(local: LocalEmbedder) -> None:
    # Lengths vary a lot and batch_size=4 splits them into chunks: padding must not matter.
    texts = [
        "hi",
        "I live in Lyon and work as a nurse on night shifts.",
        "The quick brown fox jumps over the lazy dog. " * 12,
        "tea",
        "Remind me that my daughter's birthday is on the 3rd of May.",
        "word " * 400,  # longer than the 256-token limit: truncated, not an error
        "I am vegetarian",
    ]
    batched = local.embed(texts)
    fresh = LocalEmbedder(cache_size=0)
    single = np.concatenate([fresh.embed([text]) for text in texts])
    np.testing.assert_allclose(batched, single, atol=1e-4)


def test_empty_input(local: LocalEmbedder) -> None:
    empty = local.embed([])
    assert empty.shape == (0, 384)
    assert empty.dtype == np.float32


def test_single_text_cache_returns_independent_copies(local: LocalEmbedder) -> None:
    first = local.embed(["a cached query"])
    first[0, 0] = 42.0
    second = local.embed(["a cached query"])
    assert second[0, 0] != 42.0
    np.testing.assert_allclose(second, local.embed(["a cached query", "x"])[:1], atol=1e-4)


def test_a_request_reuses_the_vector_of_a_turn_it_resent() -> None:
    # A chat resends its history: the previous user turn was embedded by the previous request.
    embedder = LocalEmbedder(cache_size=8)
    earlier = embedder.embed(["I cycle to work every day"])
    both = embedder.embed(["Which bike lock should I buy?", "I cycle to work every day"])
    assert len(embedder.cache) == 2  # multi-text calls fill the cache too
    np.testing.assert_array_equal(both[1], earlier[0])
    fresh = LocalEmbedder(cache_size=0)
    np.testing.assert_allclose(
        both, fresh.embed(["Which bike lock should I buy?", "I cycle to work every day"]), atol=1e-6
    )
    both[0, 0] = 42.0  # the caller's copy, not the cached row
    assert embedder.embed(["Which bike lock should I buy?"])[0, 0] != 42.0


def test_local_is_thread_safe(local: LocalEmbedder) -> None:
    texts = [f"question number {i} about the user's diet" for i in range(24)]
    expected = local.embed(texts)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda t: local.embed([t])[0], texts))
    np.testing.assert_allclose(np.stack(results), expected, atol=1e-4)


def test_rejects_a_bare_string(local: LocalEmbedder) -> None:
    with pytest.raises(TypeError):
        local.embed("not a list")  # type: ignore[arg-type]


def test_build_embedder_local() -> None:
    embedder = build_embedder("local", batch_size=8)
    assert isinstance(embedder, LocalEmbedder)
    assert embedder.batch_size == 8


# --- litellm -----------------------------------------------------------------------------------


@pytest.fixture
def litellm_httpx():
    import litellm

    previous = litellm.disable_aiohttp_transport
    # respx only intercepts httpx; litellm otherwise sends through aiohttp and bypasses it.
    litellm.disable_aiohttp_transport = True
    try:
        yield litellm
    finally:
        litellm.disable_aiohttp_transport = previous


def _embedding_response(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    rows = []
    for index, text in enumerate(body["input"]):
        # Unnormalized on purpose, and distinct per text: (len, 1, 0) scaled by 3.
        vector = np.array([len(text), 1.0, 0.0], dtype=np.float32) * 3
        if body.get("encoding_format") == "base64":
            embedding: object = base64.b64encode(vector.tobytes()).decode()
        else:
            embedding = vector.tolist()
        rows.append({"object": "embedding", "index": index, "embedding": embedding})
    # Out of order, as some servers answer: the embedder must sort by index.
    rows.reverse()
    return httpx.Response(
        200,
        json={
            "object": "list",
            "data": rows,
            "model": body["model"],
            "usage": {"prompt_tokens": 3, "total_tokens": 3},
        },
    )


@respx.mock
def test_litellm_embedder_calls_upstream_and_normalizes(litellm_httpx) -> None:
    route = respx.post(f"{UPSTREAM}/embeddings").mock(side_effect=_embedding_response)
    embedder = build_embedder(
        "openai/text-embedding-3-small",
        params={"api_base": UPSTREAM, "api_key": "sk-test"},
        batch_size=2,
    )
    assert isinstance(embedder, LiteLLMEmbedder)
    assert embedder.name == "litellm/openai/text-embedding-3-small"

    vectors = embedder.embed(["a", "bbb", "cc"])

    assert route.call_count == 2  # batch_size=2 splits three texts into two calls
    first = route.calls[0].request
    assert first.headers["authorization"] == "Bearer sk-test"
    sent = json.loads(first.content)
    assert sent["model"] == "text-embedding-3-small"
    assert sent["input"] == ["a", "bbb"]
    assert json.loads(route.calls[1].request.content)["input"] == ["cc"]

    assert vectors.shape == (3, 3)
    assert vectors.dtype == np.float32
    assert embedder.dim == 3
    expected = np.array([[1, 1, 0], [3, 1, 0], [2, 1, 0]], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, atol=1e-6)


@respx.mock
def test_litellm_probe_and_empty_input(litellm_httpx) -> None:
    route = respx.post(f"{UPSTREAM}/embeddings").mock(side_effect=_embedding_response)
    embedder = LiteLLMEmbedder("openai/some-embedder", {"api_base": UPSTREAM, "api_key": "k"})
    assert embedder.probe() == 3
    assert embedder.embed([]).shape == (0, 3)
    assert route.call_count == 1  # the dimension is remembered, empty input calls nothing


@respx.mock
def test_litellm_failure_raises_embedding_error(litellm_httpx) -> None:
    respx.post(f"{UPSTREAM}/embeddings").mock(
        return_value=httpx.Response(401, json={"error": {"message": "bad key"}})
    )
    embedder = LiteLLMEmbedder(
        "openai/text-embedding-3-small",
        {"api_base": UPSTREAM, "api_key": "wrong", "max_retries": 0},
    )
    with pytest.raises(EmbeddingError, match="embedding"):
        embedder.embed(["hello"])


def test_batching_embedder_matches_direct_calls_under_concurrency():
    from concurrent.futures import ThreadPoolExecutor

    from memory.index.batching import BatchingEmbedder
    from memory.index.embed import LocalEmbedder

    inner = LocalEmbedder(cache_size=0, quantize="none")  # the build whose batches are exact
    batching = BatchingEmbedder(inner, max_batch=8)
    texts = [f"I like topic number {i} quite a lot" * (1 + i % 3) for i in range(24)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        got = list(pool.map(lambda t: batching.embed([t])[0], texts))
    expected = inner.embed(texts)
    np.testing.assert_allclose(np.stack(got), expected, atol=1e-4)
    assert batching.embed([]).shape == (0, inner.dim)
    batching.close()


def test_dynamic_quantization_is_close_and_cached(tmp_path, monkeypatch):
    from memory.index.embed import EmbeddingError, LocalEmbedder, embedder_name

    monkeypatch.setenv("SELFMODEL_CACHE_DIR", str(tmp_path))
    fast = LocalEmbedder(cache_size=0)
    assert fast.name == embedder_name("local") == embedder_name("local", {"quantize": "dynamic"})
    assert fast.name != embedder_name("local", {"quantize": "none"})
    assert len(list(tmp_path.glob("*-int8-fused2-*.onnx"))) == 1
    texts = ["I am vegetarian and never eat meat.", "Suggest a dinner recipe for tonight."]
    plain = LocalEmbedder(cache_size=0, quantize="none").embed(texts)
    quick = fast.embed(texts)
    assert np.all(np.sum(plain * quick, axis=1) > 0.98)
    LocalEmbedder(quantize="dynamic")  # second start reuses the cached build
    assert len(list(tmp_path.glob("*.onnx"))) == 1
    with pytest.raises(EmbeddingError):
        LocalEmbedder(quantize="fp8")


def test_int8_vectors_do_not_depend_on_the_batch(local: LocalEmbedder) -> None:
    # Its activations are quantized per input tensor: batching would couple texts' vectors.
    texts = ["I live in Lyon.", "word " * 300, "tea", "Suggest a laptop for programming."]
    alone = np.concatenate([LocalEmbedder(cache_size=0).embed([text]) for text in texts])
    np.testing.assert_array_equal(local.embed(texts), alone)
    np.testing.assert_array_equal(local.embed(texts[::-1])[::-1], alone)


def test_query_path_shares_runs_only_where_vectors_stay_exact(local: LocalEmbedder) -> None:
    from memory.index.batching import BatchingEmbedder, query_embedder

    assert query_embedder(local) is local
    exact = query_embedder(LocalEmbedder(cache_size=0, quantize="none"))
    assert isinstance(exact, BatchingEmbedder)
    exact.close()
