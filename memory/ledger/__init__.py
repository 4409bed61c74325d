"""SQLite, the source of truth: beliefs, evidence, history, audit and the outbox."""

from memory.ledger.db import Database

__all__ = ["Database"]
