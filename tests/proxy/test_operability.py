"""What an operator reads: the banner, the access log, readiness, and one turn end to end."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import httpx
import yaml

from proxy.config import load_config
from proxy.logsetup import FIELDS, JsonFormatter
from tests.conftest import MODEL, Proxy, base_config, merge

SECRET_TEXT = "my locker code is 4417 and I am vegetarian"


def chat(http: httpx.Client, user: str, text: str) -> httpx.Response:
    return http.post(
        "/v1/chat/completions",
        json={"model": MODEL, "user": user, "messages": [{"role": "user", "content": text}]},
    )


def access_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "selfmodel.access"]


def test_access_log_one_line_per_request_without_text(proxy, upstream, caplog):
    caplog.set_level(logging.INFO)
    with httpx.Client(base_url=proxy.url) as http:
        http.post(
            "/v1/users/ana/beliefs", json={"statement": "Is vegetarian", "context": "constraints"}
        )
        response = chat(http, "ana", SECRET_TEXT)
        http.get("/healthz")  # a probe: debug level only
    request_id = response.headers["x-selfmodel-request-id"]
    lines = access_lines(caplog)
    assert len(lines) == 2
    line = next(r for r in lines if request_id in r.getMessage())
    fields = getattr(line, FIELDS)
    assert fields["route"] == "/v1/chat/completions" and fields["status"] == 200
    assert fields["tenant"] == "default" and fields["model"] == MODEL
    assert fields["user"].startswith("u_") and fields["user"] != "ana"
    assert fields["injected"] == 1 and fields["tokens"] > 0
    assert {"retrieve_ms", "render_ms", "upstream_ms", "overhead_ms", "ms"} <= fields.keys()
    text = line.getMessage() + json.dumps(fields)
    for secret in ("locker", "4417", "Is vegetarian", "sk-provider-secret", "/users/ana"):
        assert secret not in text
    beliefs_line = next(r for r in lines if request_id not in r.getMessage())
    assert getattr(beliefs_line, FIELDS)["route"] == "/v1/users/{user}/beliefs"
    assert getattr(beliefs_line, FIELDS)["tenant"] == "default"  # every authenticated call
    # a JSON line carries the same fields
    parsed = json.loads(JsonFormatter().format(line))
    assert parsed["request_id"] == request_id and parsed["event"] == "access"


def test_upstream_errors_appear_in_the_access_log(proxy, upstream, caplog):
    from tests.fake_upstream import Reply

    caplog.set_level(logging.INFO)
    upstream.replies.append(Reply(status=429, error="slow down"))
    with httpx.Client(base_url=proxy.url) as http:
        assert chat(http, "ana", "hello").status_code == 429
    (line,) = access_lines(caplog)
    assert getattr(line, FIELDS)["status"] == 429 and " 429 " in line.getMessage()


def test_banner_names_the_config_file_and_urls_and_readyz(tmp_path, upstream_url, embedder, caplog):
    caplog.set_level(logging.INFO)
    raw = merge(
        base_config(tmp_path / "store", upstream_url),
        {"auth": {"keys": [{"key": "sk-admin-0123456789", "tenant": "acme", "admin": True}]}},
    )
    path = tmp_path / "selfmodel.yaml"
    path.write_text(yaml.safe_dump(raw))
    config = load_config(path)
    assert config.source == str(path)
    # a user written before auth was on (tenant default)
    from memory.ledger import Database

    db = Database(tmp_path / "store" / "selfmodel.db")
    with db.write() as conn:
        conn.execute(
            "INSERT INTO users (tenant, user_id, created_at) VALUES ('default', 'old', '2024')"
        )
    db.close()
    proxy = Proxy(config, embedder, workers=False)
    try:
        assert httpx.get(proxy.url + "/readyz").json() == {"status": "ready"}
        assert (tmp_path / "store" / "server.pid").is_file()
    finally:
        proxy.stop()
    banner = next(r for r in caplog.records if r.getMessage().startswith("selfmodel ready"))
    text = banner.getMessage()
    assert str(path) in text and "/ui" in text and "/v1" in text
    assert "auth:      on (1 key(s), 1 admin; tenants acme)" in text
    assert "sk-admin" not in text
    warning = [r for r in caplog.records if "tenant `default`" in r.getMessage()]
    assert warning and "X-Selfmodel-Tenant: default" in warning[0].getMessage()


def test_audit_record_keeps_the_turn_and_links_what_was_learned(make_proxy, upstream):
    proxy = make_proxy()
    with httpx.Client(base_url=proxy.url, timeout=30) as http:
        response = chat(http, "ana", "I am vegetarian.")
        request_id = response.headers["x-selfmodel-request-id"]
        record = http.get(f"/v1/audit/{request_id}").json()
        assert record["user_message"] == "I am vegetarian."
        assert record["reply"] == "Hello from the fake upstream."
        learned = {}
        for _ in range(100):
            learned = http.get(f"/v1/audit/{request_id}/learned").json()
            if learned["jobs"] and learned["jobs"][0]["state"] == "done" and learned["changes"]:
                break
            time.sleep(0.1)
        assert learned["jobs"][0]["state"] == "done"
        (change,) = learned["changes"]
        assert change["event"] == "created" and "vegetarian" in change["statement"].lower()
        belief = http.get(f"/v1/users/ana/beliefs/{change['belief_id']}").json()
        assert [e["request_id"] for e in belief["evidence"]] == [request_id]  # and back
        assert http.get("/v1/audit/req_nope/learned").status_code == 404
        # forgetting the user leaves timings only: no text, no tokens
        http.post(
            "/v1/users/ana/beliefs", json={"statement": "Likes tea", "context": "preferences"}
        )
        second = chat(http, "ana", "What should I drink?").headers["x-selfmodel-request-id"]
        assert http.get(f"/v1/audit/{second}").json()["tokens"] > 0
        assert http.delete("/v1/users/ana").status_code == 200
        redacted = http.get(f"/v1/audit/{second}").json()
        assert redacted["tokens"] == 0 and redacted["user_message"] is None
        assert redacted["reply"] is None and redacted["user"] == "[forgotten]"


def test_turn_text_is_not_kept_when_store_rendered_is_off(make_proxy, upstream):
    proxy = make_proxy({"audit": {"store_rendered": False}}, workers=False)
    with httpx.Client(base_url=proxy.url) as http:
        request_id = chat(http, "ana", "hello there").headers["x-selfmodel-request-id"]
        record = http.get(f"/v1/audit/{request_id}").json()
    assert record["user_message"] is None and record["reply"] is None


def test_beliefs_list_pages_on_the_server(proxy):
    with httpx.Client(base_url=proxy.url) as http:
        for i in range(5):
            http.post(
                "/v1/users/ana/beliefs",
                json={"statement": f"Owns {i + 2} bicycles of kind {i}", "context": "preferences"},
            )
        everything = http.get("/v1/users/ana/beliefs").json()
        first = http.get("/v1/users/ana/beliefs", params={"limit": 2}).json()
        last = http.get("/v1/users/ana/beliefs", params={"limit": 2, "offset": 4}).json()
        bad = http.get("/v1/users/ana/beliefs", params={"offset": -1})
    assert len(everything["data"]) == 5 and everything["total"] == 5
    assert [b["id"] for b in first["data"]] == [b["id"] for b in everything["data"][:2]]
    assert first["has_more"] is True and first["total"] == 5
    assert [b["id"] for b in last["data"]] == [everything["data"][4]["id"]]
    assert last["has_more"] is False
    assert bad.status_code == 422


def test_eval_data_ships_in_the_repository_with_its_licence():
    root = Path(__file__).resolve().parents[2] / "eval"
    assert (root / "prefeval_explicit_dev.jsonl").is_file()
    assert "Attribution-NonCommercial 4.0" in (root / "LICENSE-PrefEval.txt").read_text()
    assert "CC BY-NC 4.0" in (root / "README.md").read_text()
    from proxy.evaluation import find_data

    assert find_data(None).parent in (root, Path.cwd() / "eval")


def test_serve_writes_json_lines_with_the_banner_and_access_log(tmp_path, upstream_url, upstream):
    import subprocess
    import sys

    from tests.fake_upstream import free_port

    port = free_port()
    raw = merge(
        base_config(tmp_path / "store", upstream_url),
        {"server": {"port": port, "log_format": "json"}, "extraction": {"enabled": False}},
    )
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    selfmodel = Path(sys.executable).with_name("selfmodel")
    process = subprocess.Popen(
        [str(selfmodel), "serve", "--config", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(url + "/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        with httpx.Client(base_url=url) as http:
            assert chat(http, "ana", SECRET_TEXT).status_code == 200
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=60)
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]  # every line JSON
    startup = next(item for item in lines if item.get("event") == "startup")
    assert startup["config"] == str(path) and startup["inspector"] == f"{url}/ui"
    assert startup["api"] == f"{url}/v1" and startup["auth"] is False
    access = [item for item in lines if item.get("event") == "access"]
    assert [a["route"] for a in access] == ["/v1/chat/completions"]
    assert "locker" not in output and "sk-provider-secret" not in output
