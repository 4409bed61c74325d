"""A pid file in the store directory while a server holds the store.

The embedded Chroma index belongs to one process, and `selfmodel reindex` rewrites the index
and the vector rows: it checks this file and refuses while a live server holds the store.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

PID_FILE = "server.pid"


def claim(store: str | os.PathLike[str], url: str | None = None) -> Path:
    path = Path(store) / PID_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": os.getpid(), "url": url}), encoding="utf-8")
    return path


def release(path: Path) -> None:
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


def holder(store: str | os.PathLike[str]) -> dict[str, object] | None:
    """The live server holding this store ({"pid", "url"}), or None (a stale file is ignored)."""
    path = Path(store) / PID_FILE
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
        pid = int(found["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return found if _alive(pid) else None
