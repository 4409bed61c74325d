"""The runtime's background policy: when the embedded Chroma index is written."""

from memory.selfmodel import SYNC_AT_LATEST_SECONDS, SYNC_WHEN_IDLE_SECONDS, SelfModel
from proxy.config import parse_config


def test_the_embedded_index_is_written_in_quiet_moments(tmp_path, embedder):
    runtime = SelfModel(parse_config({"store": {"path": str(tmp_path)}}).memory, embedder=embedder)
    policy = runtime.index_sync.policy
    assert policy.embedded
    now = 1000.0
    policy.last_request, policy.last_sync = now, now - 10
    assert not policy.due(now)  # a request just came: Chroma would stall it
    assert policy.due(now + SYNC_WHEN_IDLE_SECONDS)
    policy.last_sync = now - SYNC_AT_LATEST_SECONDS
    assert policy.due(now)  # busy for minutes: write anyway
    runtime.db.close()
