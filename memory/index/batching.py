"""Coalescing concurrent query embeddings into shared model runs (the hot path's embedder)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future

import numpy as np

from memory.index.embed import Embedder


class BatchingEmbedder:
    """Coalesces concurrent small embed calls into one model run.

    One thread runs the model. A call that finds it idle runs at once (no added wait); calls
    that arrive while it is busy queue up and go through together in the next run, which costs
    far less CPU than running them one by one. Results equal unbatched ones: inputs are padded
    per batch and pooled over real tokens only.
    """

    batch_invariant = True

    def __init__(self, inner: Embedder, max_batch: int = 32) -> None:
        self.inner = inner
        self.name = inner.name
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[list[str], Future[np.ndarray]] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._serve, name="embed-batcher", daemon=True)
        self._thread.start()

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not a str")
        if not texts or len(texts) > self.max_batch:
            return self.inner.embed(texts)
        future: Future[np.ndarray] = Future()
        self._queue.put((list(texts), future))
        return future.result()

    def close(self) -> None:
        self._queue.put(None)

    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            size = len(first[0])
            while size < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
                size += len(item[0])
            self._run(batch)

    def _run(self, batch: list[tuple[list[str], Future[np.ndarray]]]) -> None:
        texts = [text for item, _ in batch for text in item]
        try:
            vectors = self.inner.embed(texts)
        except BaseException as exc:  # noqa: BLE001 - every waiting caller gets the failure
            for _, future in batch:
                future.set_exception(exc)
            return
        offset = 0
        for item, future in batch:
            future.set_result(vectors[offset : offset + len(item)])
            offset += len(item)


def query_embedder(inner: Embedder) -> Embedder:
    """The embedder for the request path: shared model runs where they change no vector."""
    # Embedders written before `batch_invariant` existed batched exactly, as LiteLLM's do.
    if getattr(inner, "batch_invariant", True):
        return BatchingEmbedder(inner)
    # Concurrent queries then run side by side (onnxruntime sessions are thread-safe).
    return inner
