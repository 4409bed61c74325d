"""The `selfmodel` command, run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import yaml

from tests.conftest import MODEL, base_config, merge
from tests.fake_upstream import Reply

SELFMODEL = Path(sys.executable).with_name("selfmodel")


def cli(
    *args: str, url: str | None = None, input: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    command = (
        [str(SELFMODEL)]
        if SELFMODEL.exists()
        else [sys.executable, "-c", "from proxy.cli import main; main()"]
    )
    if url:
        command += ["--url", url]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=timeout, input=input
    )


def write_config(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_bad_config_exits_before_binding(tmp_path):
    path = write_config(
        tmp_path,
        {
            "server": {"port": "many"},
            "injection": {"rules": [{"name": "r", "contexts": ["hobbies"]}]},
            "colour": "red",
        },
    )
    result = cli("serve", "--config", str(path))
    assert result.returncode == 2
    assert "server.port" in result.stderr and "colour" in result.stderr
    assert "Uvicorn running" not in result.stderr


def test_unknown_template_is_a_config_error(tmp_path):
    path = write_config(tmp_path, {"injection": {"rules": [{"name": "r", "template": "nope"}]}})
    result = cli("serve", "--config", str(path))
    assert result.returncode == 2 and "injection.rules.0.template" in result.stderr


def test_beliefs_preview_export_import_forget(proxy, upstream, tmp_path):
    with httpx.Client(base_url=proxy.url) as session:
        session.post(
            "/v1/users/ana/beliefs",
            json={"statement": "I am vegetarian.", "context": "constraints"},
        )
    listed = cli("beliefs", "ana", url=proxy.url)
    assert listed.returncode == 0 and "I am vegetarian." in listed.stdout
    preview = cli("preview", "ana", "Suggest a recipe", "--model", MODEL, url=proxy.url)
    assert preview.returncode == 0
    assert "<user_model>" in preview.stdout and "vegetarian" in preview.stdout
    assert upstream.requests == []
    exported = tmp_path / "ana.json"
    assert cli("export", "ana", "-o", str(exported), url=proxy.url).returncode == 0
    assert json.loads(exported.read_text())["user"] == "ana"
    imported = cli("import", str(exported), "--user", "ana-copy", url=proxy.url)
    assert imported.returncode == 2  # the same belief ids exist already: refused
    assert "already exists" in imported.stderr
    assert cli("forget", "ana", "--yes", url=proxy.url).returncode == 0
    assert cli("import", str(exported), url=proxy.url).returncode == 0
    assert "I am vegetarian." in cli("beliefs", "ana", url=proxy.url).stdout


def test_audit_command(proxy, upstream):
    httpx.post(
        proxy.url + "/v1/chat/completions",
        json={"model": MODEL, "user": "ana", "messages": [{"role": "user", "content": "hi"}]},
    )
    proxy.state.memory.audit_log.flush()
    shown = cli("audit", "--user", "ana", "--jsonl", url=proxy.url)
    assert shown.returncode == 0
    record = json.loads(shown.stdout.strip().splitlines()[-1])
    assert record["user"] == "ana" and record["model"] == MODEL
    httpx.post(
        proxy.url + "/v1/chat/completions",
        json={"model": MODEL, "user": "bo", "messages": [{"role": "user", "content": "hi"}]},
    )
    as_table = cli("audit", url=proxy.url)
    header, *rows = as_table.stdout.splitlines()
    assert header.split()[:3] == ["AT", "REQUEST", "USER"] and len(rows) == 2
    # columns line up: each row's user starts under the USER header
    assert [row[header.index("USER") :].split()[0] for row in rows] == ["ana", "bo"]
    as_json = json.loads(cli("audit", "--json", "--url", proxy.url).stdout)
    assert [r["user"] for r in as_json] == ["ana", "bo"]  # oldest first


def test_cli_reports_unreachable_proxy():
    result = cli("beliefs", "ana", url="http://127.0.0.1:9")
    assert result.returncode == 2 and "cannot reach the proxy" in result.stderr


def test_doctor(tmp_path, upstream_url):
    path = write_config(tmp_path, base_config(tmp_path / "store", upstream_url))
    result = cli("doctor", "--config", str(path))
    assert "[ok] config" in result.stdout and "[ok] embedding" in result.stdout
    assert "[ok] sqlite" in result.stdout and "[ok] vector store" in result.stdout
    assert "[ok] model gpt-test" in result.stdout
    assert "[FAIL] model dead-model" in result.stdout
    assert result.returncode == 1


def test_reindex_and_model_mismatch(tmp_path, make_proxy, upstream, upstream_url):
    store = tmp_path / "store"
    proxy = make_proxy(store=store)
    with httpx.Client(base_url=proxy.url) as session:
        session.post(
            "/v1/users/ana/beliefs",
            json={"statement": "I am vegetarian.", "context": "constraints"},
        )
    proxy.stop()
    other_model = merge(
        base_config(store, upstream_url),
        {
            "embedding": {
                "model": "openai/text-embedding-3-small",
                "params": {"api_base": "http://127.0.0.1:9/v1", "api_key": "x"},
            }
        },
    )
    other_path = str(write_config(tmp_path, other_model))
    mismatch = cli("doctor", "--config", other_path)
    assert "selfmodel reindex" in mismatch.stdout and mismatch.returncode == 1
    refused = cli("serve", "--config", other_path)
    assert refused.returncode == 2 and "selfmodel reindex" in refused.stderr
    same = write_config(tmp_path, base_config(store, upstream_url))
    result = cli("reindex", "--config", str(same))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["beliefs_indexed"] == 1 and report["failed"] == 0
    again = make_proxy(store=store)
    response = httpx.post(
        again.url + "/v1/chat/completions",
        json={"model": MODEL, "user": "ana", "messages": [{"role": "user", "content": "Recipe?"}]},
    )
    assert response.headers["x-selfmodel-injected"] == "1"


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_client_commands_find_the_server_from_the_config(
    make_proxy, upstream, tmp_path, monkeypatch
):
    key = "sk-admin-cli-0123456789"
    proxy = make_proxy({"auth": {"keys": [{"key": key, "admin": True}]}}, workers=False)
    with httpx.Client(base_url=proxy.url, headers={"Authorization": f"Bearer {key}"}) as http:
        http.post(
            "/v1/users/ana/beliefs", json={"statement": "Is vegetarian", "context": "constraints"}
        )
    path = write_config(
        tmp_path,
        {
            "server": {"host": "0.0.0.0", "port": _port(proxy.url)},
            "auth": {"keys": [{"key": key, "admin": True}]},
        },
    )
    monkeypatch.delenv("SELFMODEL_URL", raising=False)
    monkeypatch.delenv("SELFMODEL_KEY", raising=False)
    # --config after the subcommand: host, port and the admin key come from the file
    found = cli("beliefs", "ana", "--json", "--config", str(path))
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)[0]["statement"] == "Is vegetarian"
    # the same through the environment, and before the subcommand
    by_env = subprocess.run(
        [str(SELFMODEL), "beliefs", "ana"],
        capture_output=True,
        text=True,
        env={**os.environ, "SELFMODEL_CONFIG": str(path)},
        timeout=120,
    )
    assert by_env.returncode == 0 and "Is vegetarian" in by_env.stdout
    assert by_env.stdout.splitlines()[0].split() == [
        "CONF",
        "CONTEXT",
        "STATUS",
        "SOURCE",
        "ID",
        "STATEMENT",
    ]
    before = cli("--config", str(path), "audit")
    assert before.returncode == 0, before.stderr
    # --url and --key after the subcommand win over the file
    wrong = cli("beliefs", "ana", "--config", str(path), "--key", "sk-wrong-0123456789")
    assert wrong.returncode == 2 and "401" in wrong.stderr
    elsewhere = cli("audit", "--config", str(path), "--url", "http://127.0.0.1:9")
    assert (
        elsewhere.returncode == 2
        and "cannot reach the proxy at http://127.0.0.1:9" in elsewhere.stderr
    )


def test_jobs_table_json_and_bad_state(proxy, upstream):
    bad = cli("jobs", "--state", "bogus", url=proxy.url)
    assert bad.returncode == 2 and "bogus" in bad.stderr and "dead" in bad.stderr
    with httpx.Client(base_url=proxy.url) as http:
        http.post(
            "/v1/chat/completions",
            json={
                "model": MODEL,
                "user": "ana",
                "messages": [{"role": "user", "content": "I am vegetarian and I live in Lyon."}],
            },
        )
    listed = cli("jobs", "--state", "all", "--url", proxy.url)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:4] == ["ID", "STATE", "TRIES", "USER"]
    assert any("ana" in line for line in lines[1:]) and lines[-1].startswith("all jobs:")
    as_json = cli("jobs", "--state", "all", "--json", url=proxy.url)
    data = json.loads(as_json.stdout)
    assert data["data"][0]["user"] == "ana" and "counts" in data
    none_dead = cli("jobs", url=proxy.url)
    assert none_dead.returncode == 0 and "no dead jobs" in none_dead.stdout
    retried = cli("jobs", "--retry", url=proxy.url)
    assert retried.returncode == 0 and "retried 0 dead job(s)" in retried.stdout


def test_reindex_is_refused_while_a_server_holds_the_store(tmp_path, make_proxy, upstream_url):
    store = tmp_path / "store"
    proxy = make_proxy(store=store, workers=False)
    path = write_config(tmp_path, base_config(store, upstream_url))
    refused = cli("reindex", "--config", str(path))
    assert refused.returncode == 2 and f"pid {os.getpid()}" in refused.stderr
    assert "stop it first" in refused.stderr
    doctor = cli("doctor", "--config", str(path))
    assert "[warn] vector store" in doctor.stdout and "holds the embedded index" in doctor.stdout
    proxy.stop()
    assert not (store / "server.pid").exists()
    assert cli("reindex", "--config", str(path)).returncode == 0


def test_doctor_call_tells_whether_the_key_works(tmp_path, upstream, upstream_url):
    path = write_config(tmp_path, base_config(tmp_path / "store", upstream_url))
    upstream.replies.append(Reply(status=401, error="Incorrect API key provided"))
    rejected = cli("doctor", "--call", "--config", str(path))
    assert "[FAIL] model gpt-test: a 1-token call failed: 401" in rejected.stdout
    assert "fix: the provider rejected the key" in rejected.stdout
    assert "[FAIL] model dead-model" in rejected.stdout and rejected.returncode == 1
    assert upstream.chat_requests[-1]["max_tokens"] == 1
    works = cli("doctor", "--call", "--config", str(path))
    assert "[ok] model gpt-test: a 1-token call answered" in works.stdout
    assert "the key works" in works.stdout
