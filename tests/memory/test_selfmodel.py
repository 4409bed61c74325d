"""The runtime's background policy: when the embedded Chroma index is written."""

from memory.selfmodel import SYNC_AT_LATEST_SECONDS, SYNC_WHEN_IDLE_SECONDS, SelfModel
from proxy.config import parse_config


def test_the_embedded_index_is_written_in_quiet_moments(tmp_path, embedder):
    runtime = SelfModel(parse_config({"store": {"path": str(tmp_path)}}).memory, embedder=embedder)
    assert runtime.vectors.embedded
    now = 1000.0
    runtime._last_request, runtime._last_sync = now, now - 10
    assert not runtime._sync_due(now)  # a request just came: Chroma would stall it
    assert runtime._sync_due(now + SYNC_WHEN_IDLE_SECONDS)
    runtime._last_sync = now - SYNC_AT_LATEST_SECONDS
    assert runtime._sync_due(now)  # busy for minutes: write anyway
    runtime.db.close()
