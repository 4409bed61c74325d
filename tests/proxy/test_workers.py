"""Scale-out on SQLite with real processes: N x `selfmodel serve` (extraction.workers: 0) and
M x `selfmodel worker`, started by benchmarks/topology.py, talked to with the openai client."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from benchmarks.topology import MODEL, Topology

TEMPLATES = [
    ("I am allergic to {}.", ["walnuts", "dairy", "pollen", "aspirin", "mustard"]),
    ("I drink {} every morning.", ["matcha", "cold brew", "chai", "lemon water", "rooibos"]),
    ("I work as a {}.", ["dentist", "carpenter", "translator", "architect", "paramedic"]),
    ("I am training for a {}.", ["marathon", "triathlon", "century ride", "swim meet", "duathlon"]),
    ("I prefer replies written as {}.", ["bullet points", "tables", "short paragraphs", "haiku"]),
    ("I live in {}.", ["Oslo", "Lima", "Hanoi", "Quebec", "Porto"]),
    ("I am learning {}.", ["Korean", "the violin", "calligraphy", "Go programming", "Welsh"]),
    ("I follow a {} diet.", ["vegetarian", "keto", "pescatarian", "low-fodmap", "paleo"]),
    ("My favourite hobby is {}.", ["gardening", "kayaking", "baking bread", "origami", "fencing"]),
    ("I have been using {} for years.", ["Linux", "Excel", "Figma", "Postgres", "Blender"]),
]


class Turn:
    def __init__(self, user: str, text: str, key: str, via: str) -> None:
        self.user, self.text, self.key, self.via = user, text, key, via
        self.request_id: str | None = None


def turns_for(users: int, topics: range, proxies: list[str], prefix: str) -> list[Turn]:
    out = []
    for k in topics:
        template, items = TEMPLATES[k]
        for i in range(users):
            item = items[(i + k) % len(items)]
            via = proxies[len(out) % len(proxies)]
            out.append(Turn(f"{prefix}-{i:02d}", template.format(item), item, via))
    return out


def send(turn: Turn) -> Turn:
    # Retries as a real client would: a 502 (the proxy's idle connection to the fake upstream
    # closed under it) comes before the provider answered, so nothing of it was enqueued.
    client = openai.OpenAI(
        base_url=turn.via + "/v1", api_key="sk-client", max_retries=2, timeout=60
    )
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL, user=turn.user, messages=[{"role": "user", "content": turn.text}]
    )
    raw.parse()
    turn.request_id = raw.headers["x-selfmodel-request-id"]
    return turn


def send_all(turns: list[Turn], concurrency: int = 6) -> None:
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(send, turns))


def beliefs(base: str, user: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{base}/v1/users/{user}/beliefs", params={"status": "active"})
    if response.status_code == 404:
        return []
    response.raise_for_status()
    return list(response.json()["data"])


def learned_once(turns: list[Turn], base: str) -> list[str]:
    """The problems: a turn not learned as exactly one belief with one piece of its evidence."""
    problems = []
    by_user: dict[str, list[dict[str, Any]]] = {}
    for turn in turns:
        found = by_user.setdefault(turn.user, beliefs(base, turn.user))
        carrying = [b for b in found if turn.key.lower() in b["statement"].lower()]
        if len(carrying) != 1:
            problems.append(f"{turn.user} {turn.key!r}: {len(carrying)} beliefs")
            continue
        detail = httpx.get(f"{base}/v1/users/{turn.user}/beliefs/{carrying[0]['id']}").json()
        evidence = [e for e in detail["evidence"] if e["kind"] == "turn"]
        if [e["request_id"] for e in evidence] != [turn.request_id]:
            problems.append(f"{turn.user} {turn.key!r}: evidence {evidence}")
    return problems


def view(base: str, user: str) -> list[tuple[Any, ...]]:
    return sorted(
        (b["id"], b["statement"], b["version"], round(b["confidence"], 4))
        for b in beliefs(base, user)
    )


def chat(base: str, user: str, text: str) -> httpx.Response:
    response = httpx.post(
        f"{base}/v1/chat/completions",
        json={"model": MODEL, "user": user, "messages": [{"role": "user", "content": text}]},
        timeout=30,
    )
    response.raise_for_status()
    return response


def injected_statements(base: str, response: httpx.Response) -> list[str]:
    """What the proxy that answered injected, from its audit record."""
    request_id = response.headers["x-selfmodel-request-id"]
    for _ in range(50):  # audit records are flushed every 0.25 s
        found = httpx.get(f"{base}/v1/audit/{request_id}")
        if found.status_code == 200:
            return [b["statement"] for b in found.json()["injected"]]
        time.sleep(0.1)
    raise AssertionError(f"no audit record for {request_id}")


def db_rows(topo: Topology, sql: str) -> list[tuple[Any, ...]]:
    return topo.rows(sql)


BOTH_LEDGERS = True


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "topology"


@pytest.fixture
def topology(workdir: Path, ledger: str, request: pytest.FixtureRequest) -> Callable[..., Topology]:
    """Topology(...) on the test's ledger: SQLite shared by every process, or PostgreSQL with
    a Chroma server (each process in a directory of its own, nothing local shared)."""

    def make(**kwargs: Any) -> Topology:
        if ledger == "postgresql":
            kwargs.setdefault("database", request.getfixturevalue("pg_cluster").fresh())
            kwargs.setdefault("chroma", True)
        return Topology(workdir, **kwargs)

    return make


def test_two_proxies_two_workers_learn_every_turn_exactly_once(
    topology: Callable[..., Topology],
) -> None:
    with topology(proxies=2, workers=2, launch_workers=False) as topo:
        a, b = topo.proxy_urls
        turns = turns_for(20, range(10), [a, b], "tp")
        # The proxies alone only enqueue: nothing is learned before a worker runs.
        send_all(turns[:20])
        time.sleep(2)
        assert topo.outbox_counts() == {"pending": 20}
        assert all(not beliefs(a, t.user) for t in turns[:20])
        for _ in range(2):
            topo.start_worker()
        send_all(turns[20:])
        counts = topo.wait_learned(180)
        assert counts == {"done": 200}
        assert learned_once(turns, a) == []
        users = sorted({t.user for t in turns})
        assert all(view(a, u) == view(b, u) for u in users)
        assert sum(len(view(b, u)) for u in users) == 200
        # One worker writes an embedded index (it holds chroma.lock), the other stands by; a
        # Chroma server takes writes from both.
        logs = [w.tail(200) for w in topo.worker_children]
        writers = [False, True] if not topo.chroma else [True, True]
        assert sorted("index writes it" in log for log in logs) == writers
        deadline = time.monotonic() + 30
        while db_rows(topo, "SELECT COUNT(*) FROM beliefs WHERE indexed = 0")[0][0]:
            assert time.monotonic() < deadline, "the owner did not sync the index"
            time.sleep(0.25)
        # A belief written through one proxy is injected by the other on its next request.
        for writer, reader in ((a, b), (b, a)):
            user = users[0] if writer == a else users[1]
            chat(reader, user, "What should I cook tonight?")  # the reader caches the user
            posted = httpx.post(
                f"{writer}/v1/users/{user}/beliefs",
                json={"statement": "The user cannot eat cashews.", "context": "constraints"},
            )
            assert posted.status_code == 201
            answer = chat(reader, user, "What snack should I bring to the party?")
            assert "The user cannot eat cashews." in injected_statements(reader, answer)
            deleted = httpx.delete(f"{writer}/v1/users/{user}/beliefs/{posted.json()['id']}")
            assert deleted.status_code < 300
            answer = chat(reader, user, "What snack should I bring to the party?")
            assert "The user cannot eat cashews." not in injected_statements(reader, answer)


def test_forget_and_import_through_one_proxy_reach_the_other_at_once(
    topology: Callable[..., Topology],
) -> None:
    with topology(proxies=2, workers=0, extra={"extraction": {"workers": 0}}) as topo:
        a, b = topo.proxy_urls
        user = "coherent"
        first = httpx.post(
            f"{a}/v1/users/{user}/beliefs",
            json={"statement": "The user keeps bees.", "context": "preferences"},
        )
        assert first.status_code == 201
        assert "The user keeps bees." in injected_statements(b, chat(b, user, "Weekend plans?"))
        document = httpx.get(f"{a}/v1/users/{user}/export").json()
        assert httpx.delete(f"{a}/v1/users/{user}").status_code == 200
        assert injected_statements(b, chat(b, user, "Weekend plans?")) == []
        # Re-created with other content (its revision starts over on the row it gets anew):
        # the other proxy, which cached the old self-model, must not serve it.
        document["beliefs"][0]["statement"] = "The user keeps goats."
        for e in document["beliefs"][0]["evidence"]:
            e["quote"] = None
        imported = httpx.post(f"{a}/v1/users/{user}/import", json=document)
        assert imported.status_code == 201, imported.text
        statements = injected_statements(b, chat(b, user, "Weekend plans?"))
        assert statements == ["The user keeps goats."]
        # Neither proxy opened an embedded index; the forget left its drop for the owner
        assert not (Path(str(topo.store)) / "chroma").exists()
        # (a Chroma server is written by every process: the forget dropped the user there)
        dropped = [] if topo.chroma else [(user,)]
        assert db_rows(topo, "SELECT user_id FROM index_drops") == dropped


def test_a_worker_killed_mid_burst_loses_and_repeats_nothing(
    topology: Callable[..., Topology],
) -> None:
    with topology(proxies=1, workers=2) as topo:
        (a,) = topo.proxy_urls
        turns = turns_for(12, range(10), [a], "crash")
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(send, t) for t in turns]
            while sum(f.done() for f in futures) < len(turns) // 3:
                time.sleep(0.02)
            topo.kill(topo.worker_children[0], signal.SIGKILL)
            topo.start_worker()
            for f in futures:
                f.result()
        assert topo.wait_learned(180) == {"done": len(turns)}
        assert learned_once(turns, a) == []


CRASH_INSIDE_A_JOB = """
import asyncio, os, signal, sys
from memory.selfmodel import SelfModel
from proxy.config import load_config

memory = SelfModel(load_config(sys.argv[1]).memory, index_owner=False)
[(job_id, turn, _)] = memory.outbox.claim(1)
worker = memory.worker
extraction = asyncio.run(
    worker.extractor.extract(
        turn.user_texts(), turn.reply, [], memory.context_descriptions, turn.model
    )
)
assert extraction.ops, "nothing to learn from the turn"
with memory.beliefs.lock(turn.tenant, turn.user), memory.db.transaction():
    worker.applier.apply(
        turn.tenant, turn.user, extraction.ops, request_id=turn.request_id, known_ids=set()
    )
    print("applied, not committed", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # the crash: between the job's writes and its end
"""


def test_a_crash_inside_a_job_applies_nothing_and_the_job_runs_again_once(
    topology: Callable[..., Topology],
) -> None:
    with topology(proxies=1, workers=1, launch_workers=False) as topo:
        (a,) = topo.proxy_urls
        turn = send(Turn("crashed", "I am allergic to walnuts.", "walnuts", a))
        crashed = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(CRASH_INSIDE_A_JOB), str(topo.config_path)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr
        assert "applied, not committed" in crashed.stdout
        # The job is still running under the dead process's lease, and nothing was applied.
        [(state, owner)] = db_rows(topo, "SELECT state, lease_owner FROM outbox")
        assert state == "running" and owner is not None
        assert beliefs(a, "crashed") == []
        # A worker on this host sees its claimant is dead and runs it again, once.
        topo.start_worker()
        assert topo.wait_learned(60) == {"done": 1}
        assert learned_once([turn], a) == []
        history = httpx.get(f"{a}/v1/users/crashed/beliefs").json()["data"]
        assert len(history) == 1


def test_worker_command_refuses_a_config_without_extraction(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        json.dumps(
            {
                "model_list": [{"model_name": "m", "litellm_params": {"model": "openai/m"}}],
                "store": {"path": str(tmp_path / "store")},
                "extraction": {"enabled": False},
            }
        )
    )
    exe = Path(sys.executable).with_name("selfmodel")
    done = subprocess.run(
        [str(exe), "worker", "--config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "extraction.enabled is false" in done.stderr


def test_the_deploy_config_is_valid_and_its_proxies_only_enqueue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import yaml

    from proxy.config import load_config

    monkeypatch.setenv("SELFMODEL_ADMIN_KEY", "sk-admin-0123456789")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("SELFMODEL_DATABASE_URL", "postgresql://u:p@postgres:5432/selfmodel")
    deploy = Path(__file__).resolve().parents[2] / "deploy"
    config = load_config(str(deploy / "config.yaml"))
    assert config.extraction.workers == 0 and config.store.chroma is not None
    assert config.store.database == "postgresql://u:p@postgres:5432/selfmodel"
    services = yaml.safe_load((deploy / "compose.yaml").read_text())["services"]
    commands = [s.get("command", [""])[0] for s in services.values()]
    assert commands.count("serve") == 2 and commands.count("worker") == 2
