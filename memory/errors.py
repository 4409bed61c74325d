"""The self-model's own errors; the proxy maps each onto an HTTP status.

MemoryFault
├── NotFoundError   unknown user or belief (also another tenant's: as if absent)
├── InvalidError    bad input, nothing written
└── ConflictError   a stale version, or an id that already exists
"""

from __future__ import annotations


class MemoryFault(Exception):
    pass


class NotFoundError(MemoryFault):
    pass


class InvalidError(MemoryFault):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class ConflictError(MemoryFault):
    pass
