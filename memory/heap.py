"""Handing memory that Python and the native libraries freed back to the operating system."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
from functools import cache
from typing import Any


@cache
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim  # noqa: B018 - glibc only; raises AttributeError elsewhere
    except (OSError, AttributeError):
        return None
    return libc


def release_free_memory() -> bool:
    """Return the free pages of every malloc arena to the OS (glibc's `malloc_trim`).

    Loading many users' beliefs at once from a pool of threads leaves freed holes inside the
    arenas, which glibc keeps: measured, 500 users first touched at concurrency 8 grew the
    proxy's RSS by 370 MB, against 150 MB one at a time. Trimming costs a few ms and runs in
    the background maintenance loop, never on a request. False where there is no glibc.
    """
    libc = _libc()
    if libc is None:
        return False
    with contextlib.suppress(OSError):
        libc.malloc_trim(0)
    return True
