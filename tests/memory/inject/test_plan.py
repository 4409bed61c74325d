import asyncio
import time

from memory.beliefs import EvidenceIn
from memory.selfmodel import SelfModel
from proxy.config import parse_config


def _said(text: str) -> EvidenceIn:
    return EvidenceIn(source="stated", kind="turn", quote=text)


def test_of_two_contradicting_beliefs_only_the_newer_is_injected(tmp_path, embedder):
    runtime = SelfModel(parse_config({"store": {"path": str(tmp_path)}}).memory, embedder=embedder)
    runtime.beliefs.create("t", "u", "I love horror movies", "preferences", _said("love"))
    time.sleep(0.01)
    newer = runtime.beliefs.create("t", "u", "I hate horror movies", "preferences", _said("hate"))
    runtime.beliefs.create("t", "u", "I live in Lyon", "preferences", _said("Lyon"))
    messages = [{"role": "user", "content": "Which horror movie should I watch tonight?"}]

    def plan() -> list[str]:
        injection = asyncio.run(
            runtime.plan(tenant="t", user="u", model="gpt-4o", messages=messages, headers={})
        )
        assert injection.rendered and "horror" in injection.rendered
        return [b.statement for b in injection.beliefs]

    first = plan()
    assert newer.statement in first and "I love horror movies" not in first
    # The pair's answer is kept with the snapshot, and the next request reads it from there.
    snapshot = runtime.snapshots.get("t", "u")
    assert list(snapshot.contradicting.values()) == [True]
    assert plan() == first
    runtime.db.close()
