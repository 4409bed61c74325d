"""Insights are computed on demand, off the request path, and cached until the store changes
(or `insights.cache_seconds` pass): a repeated read costs a few primary-key lookups."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

MAX_ENTRIES = 256


class InsightsCache:
    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._entries: OrderedDict[Hashable, tuple[Hashable, float, dict[str, Any]]] = OrderedDict()
        self._locks: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def _fresh(self, key: Hashable, stamp: Hashable) -> dict[str, Any] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != stamp or time.monotonic() - entry[1] > self.ttl:
                return None
            self._entries.move_to_end(key)
            return {**entry[2], "cached": True}

    def get(
        self, key: Hashable, stamp: Callable[[], Hashable], compute: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        """The cached value while `stamp()` is unchanged; else computed once (concurrent
        callers of the same key wait for that one computation)."""
        current = stamp()
        found = self._fresh(key, current)
        if found is not None:
            return found
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            current = stamp()
            found = self._fresh(key, current)
            if found is not None:
                return found
            value = compute()
            with self._lock:
                self._entries[key] = (current, time.monotonic(), value)
                self._entries.move_to_end(key)
                while len(self._entries) > MAX_ENTRIES:
                    old, _ = self._entries.popitem(last=False)
                    self._locks.pop(old, None)
            return {**value, "cached": False}
