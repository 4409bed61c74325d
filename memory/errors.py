"""Every error the self-model raises on purpose; `proxy.errors` maps each type onto an HTTP one.

MemoryFailure                 anything below; the HTTP side answers 500 for an unlisted one
├── MemoryFault               the caller's request cannot be done; nothing was written
│   ├── NotFoundError         unknown user or belief (also another tenant's: as if absent)  404
│   ├── InvalidError          bad input                                                     422
│   └── ConflictError         a stale version, or an id that already exists                 409
├── IndexMismatch             the vector index was built by another embedding model         500
├── MemoryDegraded            the store or embedder failed during retrieval (fail-open
│                             forwards without memory; fail-closed answers)                  503
├── EmbeddingError            the embedding model is missing or failed
│   └── UnsupportedGraph      the local encoder's graph cannot be fused (the build falls back)
└── ExtractionFailed          an extractor's answer cannot be used (the job is dead-lettered)
    └── ParseError            the extraction model's JSON does not parse or fit the schema

Learning rejects an operation that meets a `MemoryFault` and goes on with the next one; any
other failure is retried, then dead-lettered.
"""

from __future__ import annotations


class MemoryFailure(Exception):
    pass


class MemoryFault(MemoryFailure):
    pass


class NotFoundError(MemoryFault):
    pass


class InvalidError(MemoryFault):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class ConflictError(MemoryFault):
    pass


class IndexMismatch(MemoryFailure):
    """The vector index was built by another embedding model than the configured one."""


class MemoryDegraded(MemoryFailure):
    """The store or the embedder failed; the request may go on without memory."""


class EmbeddingError(MemoryFailure):
    """The embedding model is missing, misconfigured or failed."""


class UnsupportedGraph(EmbeddingError):
    """The exported encoder's graph is not the shape the fusion rewrite expects."""


class ExtractionFailed(MemoryFailure):
    """The extractor's output cannot be used; the raw text is kept for inspection."""

    def __init__(self, message: str, raw: str | None = None) -> None:
        super().__init__(message)
        self.raw = raw


class ParseError(ExtractionFailed):
    """The extraction model's answer is not the JSON the prompt asks for."""
