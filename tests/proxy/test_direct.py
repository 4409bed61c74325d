"""The direct path for OpenAI-compatible providers: which entries take it, and fidelity."""

import json

import httpx
import pytest

from proxy.config import parse_config
from proxy.direct import eligible
from proxy.upstream import Upstream
from tests.conftest import MODEL
from tests.fake_upstream import Reply


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"model": "openai/gpt-4o", "api_key": "k"}, True),
        (
            {
                "model": "openai/gpt-4o",
                "api_base": "http://h/v1",
                "timeout": 5,
                "max_retries": 0,
                "organization": "org",
                "extra_headers": {"X-A": "1"},
            },
            True,
        ),
        ({"model": "anthropic/claude-3"}, False),  # needs translating: litellm
        ({"model": "gpt-4o"}, False),  # litellm infers the provider
        ({"model": "openai/gpt-4o", "max_retries": 2}, False),  # litellm retries
        ({"model": "openai/gpt-4o", "api_version": "2024-01-01"}, False),  # only litellm knows it
        ({"model": "openai/gpt-4o", "extra_headers": "X-A: 1"}, False),
    ],
)
def test_which_entries_go_direct(params, expected):
    assert eligible(params) is expected


def _chat(proxy, model=MODEL, **extra):
    return httpx.post(
        proxy.url + "/v1/chat/completions",
        timeout=30,
        json={"model": model, "messages": [{"role": "user", "content": "hi"}], **extra},
    )


@pytest.mark.parametrize(
    "models,direct,expected",
    [
        (["openai/gpt-4o", "openai/*"], True, False),  # every call can go direct: no litellm
        (["openai/gpt-4o", "anthropic/claude-3"], True, True),
        (["openai/gpt-4o"], False, True),  # direct path switched off
    ],
)
def test_litellm_is_loaded_only_when_a_model_needs_it(models, direct, expected):
    config = parse_config(
        {
            "model_list": [
                {"model_name": f"m{i}", "litellm_params": {"model": model, "api_key": "k"}}
                for i, model in enumerate(models)
            ]
        }
    )
    assert Upstream(config.model_list, 30, direct=direct).needs_litellm() is expected


def test_direct_answer_is_the_providers_own(proxy, upstream):
    response = _chat(proxy, user="u-1", some_new_param={"a": 1})
    assert response.status_code == 200
    body = response.json()
    # Exactly the fake's document, `logprobs: null` and all (litellm re-serializes it).
    assert body["created"] == 1700000000
    assert body["choices"][0]["logprobs"] is None
    assert body["model"] == "gpt-test"
    sent = upstream.chat_requests[-1]
    assert sent["model"] == "gpt-test" and sent["user"] == "u-1"
    assert sent["some_new_param"] == {"a": 1}
    headers = upstream.headers[-1]
    assert headers["authorization"] == "Bearer sk-provider-secret"
    assert headers["user-agent"].startswith("selfmodel/")


def test_direct_stream_is_relayed_byte_for_byte(proxy, upstream):
    with httpx.stream(
        "POST",
        proxy.url + "/v1/chat/completions",
        timeout=30,
        json={"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "hi"}]},
    ) as response:
        raw = b"".join(response.iter_raw())
        headers = response.headers
    assert raw == upstream.sent[-1] and raw.endswith(b"data: [DONE]\n\n")
    assert headers["x-request-id"] == "req_fake"
    assert "x-fake-internal" not in headers


def test_a_stream_event_over_a_megabyte_is_relayed_whole(proxy, upstream, monkeypatch):
    monkeypatch.setattr(upstream, "stream_chunks", 1)  # the whole answer in one event
    answer = " ".join(f"w{i}" for i in range(200_000))  # ~1.4 MB
    upstream.replies.append(Reply(content=answer))
    with httpx.stream(
        "POST",
        proxy.url + "/v1/chat/completions",
        timeout=30,
        json={"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "hi"}]},
    ) as response:
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert not any("error" in chunk for chunk in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == answer


def test_entry_headers_and_organization_are_sent(make_proxy, upstream, upstream_url):
    proxy = make_proxy(
        {
            "model_list": [
                {
                    "model_name": "org-model",
                    "litellm_params": {
                        "model": "openai/gpt-org",
                        "api_base": upstream_url,
                        "api_key": "k1",
                        "organization": "org-7",
                        "extra_headers": {"X-Team": "search"},
                    },
                }
            ]
        }
    )
    assert _chat(proxy, model="org-model").status_code == 200
    headers = upstream.headers[-1]
    assert headers["openai-organization"] == "org-7" and headers["x-team"] == "search"


def test_entries_litellm_must_handle_still_go_through_it(make_proxy, upstream, upstream_url):
    proxy = make_proxy(
        {
            "model_list": [
                {
                    "model_name": "retrying",
                    "litellm_params": {
                        "model": "openai/gpt-r",
                        "max_retries": 1,
                        "api_base": upstream_url,
                        "api_key": "k",
                    },
                }
            ]
        }
    )
    assert _chat(proxy, model="retrying").status_code == 200
    assert not upstream.headers[-1]["user-agent"].startswith("selfmodel/")


def test_switching_the_direct_path_off(make_proxy, upstream):
    proxy = make_proxy({"server": {"direct_openai": False}})
    assert _chat(proxy).status_code == 200
    assert not upstream.headers[-1]["user-agent"].startswith("selfmodel/")


def test_missing_provider_key_is_a_clear_401(make_proxy, upstream, upstream_url, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    proxy = make_proxy(
        {
            "model_list": [
                {
                    "model_name": "keyless",
                    "litellm_params": {"model": "openai/x", "api_base": upstream_url},
                }
            ]
        }
    )
    response = _chat(proxy, model="keyless")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "provider_key_missing"
    assert upstream.requests == []


def test_proxies_from_the_environment_are_honoured_except_no_proxy(monkeypatch):
    from proxy.direct import DirectOpenAI

    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1,.internal")
    direct = DirectOpenAI(5)
    assert direct._proxy_for("https://api.openai.com/v1") == "http://proxy.corp:3128"
    assert direct._proxy_for("https://llm.internal/v1") is None
    assert direct._proxy_for("http://127.0.0.1:8000/v1") is None
    assert direct._proxy_for("http://vllm:8000/v1") is None  # no HTTP_PROXY set
