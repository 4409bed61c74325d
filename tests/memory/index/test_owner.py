"""One writer for an embedded Chroma index across processes (memory/index/owner.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from memory.index.owner import DeferredIndex, IndexLock
from memory.selfmodel import SelfModel
from memory.settings import MemoryConfig

HOLD = """
import sys, time
from pathlib import Path
from memory.index.owner import IndexLock
assert IndexLock(Path(sys.argv[1])).acquire()
print("held", flush=True)
time.sleep(60)
"""


def test_the_lock_has_one_holder_across_processes_and_is_freed_when_it_dies(
    tmp_path: Path,
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert not IndexLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait()
    mine = IndexLock(tmp_path)
    assert mine.acquire() and mine.held
    assert not IndexLock(tmp_path).acquire()  # one holder, in this process too
    mine.release()
    assert IndexLock(tmp_path).acquire()


def test_a_proxy_that_only_enqueues_never_opens_the_embedded_index(
    tmp_path: Path, embedder: object
) -> None:
    config = MemoryConfig.model_validate(
        {"store": {"path": str(tmp_path)}, "extraction": {"workers": 0}}
    )
    memory = SelfModel(config, embedder=embedder)  # type: ignore[arg-type]
    assert isinstance(memory.chroma, DeferredIndex)
    assert memory.index_lock is None and not (tmp_path / "chroma").exists()
    assert memory.sync_index() == 0
    owner = SelfModel(config, embedder=embedder, index_owner=True)  # type: ignore[arg-type]
    assert owner.chroma.embedded and owner.index_lock is not None and owner.index_lock.held
    standby = SelfModel(config, embedder=embedder, index_owner=True)  # type: ignore[arg-type]
    assert isinstance(standby.chroma, DeferredIndex) and not standby.take_index()
    assert owner.index_lock is not None
    owner.index_lock.release()
    assert standby.take_index() and standby.chroma.embedded
    for each in (memory, owner, standby):
        each.db.close()
