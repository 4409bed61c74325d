"""`selfmodel migrate`: the schema of the config's store, and a whole store moved from SQLite
into PostgreSQL and back, served by a proxy at each end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner

from proxy.cli import main
from tests.conftest import MODEL


def _say(url: str, user: str, text: str) -> None:
    response = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": MODEL, "user": user, "messages": [{"role": "user", "content": text}]},
        timeout=30,
    )
    assert response.status_code == 200


def _self_model(url: str, user: str) -> list[tuple[Any, ...]]:
    found = httpx.get(f"{url}/v1/users/{user}/beliefs").json()["data"]
    out = []
    for b in sorted(found, key=lambda b: b["id"]):
        detail = httpx.get(f"{url}/v1/users/{user}/beliefs/{b['id']}").json()
        out.append(
            (
                b["id"],
                b["statement"],
                b["status"],
                b["version"],
                round(b["confidence"], 6),
                len(detail["evidence"]),
                len(detail["history"]),
            )
        )
    return out


def _wait_idle(proxy: Any) -> None:
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        counts = httpx.get(f"{proxy.url}/v1/extraction/jobs").json()["counts"]
        if not counts.get("pending") and not counts.get("running"):
            return
        time.sleep(0.1)
    raise AssertionError("learning did not finish")


def test_a_store_moves_to_postgresql_and_back_whole(tmp_path: Path, make_proxy, pg_cluster):
    source = make_proxy(store=tmp_path / "sqlite-store")
    _say(source.url, "ana", "I'm vegetarian.")
    _say(source.url, "ana", "I prefer short answers.")
    _say(source.url, "ana", "I'm no longer vegetarian.")
    created = httpx.post(
        f"{source.url}/v1/users/bo/beliefs",
        json={"statement": "The user keeps bees.", "context": "preferences"},
    )
    assert created.status_code == 201
    _wait_idle(source)
    before = {u: _self_model(source.url, u) for u in ("ana", "bo")}
    assert any(row[2] == "superseded" or row[2] == "retracted" for row in before["ana"])
    source.stop()

    postgres = pg_cluster.fresh()
    done = CliRunner().invoke(
        main,
        ["migrate", "--from", str(tmp_path / "sqlite-store" / "selfmodel.db"), "--to", postgres],
    )
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["rows"]["beliefs"] == sum(len(v) for v in before.values())
    assert "selfmodel-test" not in done.output  # the password never printed

    served = make_proxy({"store": {"database": postgres}}, store=tmp_path / "pg-local")
    assert {u: _self_model(served.url, u) for u in ("ana", "bo")} == before
    # the next write gets a fresh id from PostgreSQL's sequences, after the copied ones
    _say(served.url, "bo", "I am learning the cello.")
    _wait_idle(served)
    served.stop()

    back = tmp_path / "back.db"
    done = CliRunner().invoke(main, ["migrate", "--from", postgres, "--to", f"sqlite:///{back}"])
    assert done.exit_code == 0, done.output
    again = make_proxy({"store": {"database": f"sqlite:///{back}"}}, store=tmp_path / "local-2")
    assert _self_model(again.url, "ana") == before["ana"]
    assert any("cello" in row[1] for row in _self_model(again.url, "bo"))


def test_migrate_refuses_a_destination_that_holds_data(tmp_path: Path, make_proxy):
    proxy = make_proxy(store=tmp_path / "a")
    _say(proxy.url, "ana", "I'm vegetarian.")
    _wait_idle(proxy)
    proxy.stop()
    other = make_proxy(store=tmp_path / "b")
    _say(other.url, "bo", "I'm a nurse.")
    _wait_idle(other)
    other.stop()
    done = CliRunner().invoke(
        main,
        ["migrate", "--from", str(tmp_path / "a" / "selfmodel.db"), "--to",
         str(tmp_path / "b" / "selfmodel.db")],
    )  # fmt: skip
    assert done.exit_code != 0
    assert "already holds data" in done.output


@pytest.mark.parametrize("given", [["--from", "x.db"], ["--to", "y.db"]])
def test_from_and_to_go_together(given: list[str]) -> None:
    done = CliRunner().invoke(main, ["migrate", *given])
    assert done.exit_code != 0 and "go together" in done.output


def test_migrate_brings_the_configs_store_to_the_newest_schema(tmp_path: Path) -> None:
    from memory.ledger.migrations import head

    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"store": {"path": str(tmp_path / "store")}}))
    first = CliRunner().invoke(main, ["migrate", "--config", str(config)])
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["revision"] == head() and report["applied"][-1] == head()
    second = CliRunner().invoke(main, ["migrate", "--config", str(config)])
    assert json.loads(second.stdout)["applied"] == []
