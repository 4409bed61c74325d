"""Every error answers in OpenAI's shape with the right status, and leaks nothing."""

from __future__ import annotations

import httpx
import openai
import pytest

from proxy.apis.messages import MessagesAdapter
from proxy.body import check_chat_body
from proxy.errors import InvalidField
from tests.conftest import MODEL
from tests.fake_upstream import Reply

BOTH_UPSTREAM_PATHS = True  # see tests/conftest.py


def _post(proxy, body=None, content=None, headers=None):
    return httpx.post(
        proxy.url + "/v1/chat/completions",
        json=body,
        content=content,
        headers=headers or {},
        timeout=30,
    )


def _assert_error(response, status, kind):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == kind
    assert "Traceback" not in response.text
    assert "sk-provider-secret" not in response.text
    return error


def test_malformed_json(proxy):
    response = _post(proxy, content=b"{not json", headers={"content-type": "application/json"})
    _assert_error(response, 400, "invalid_request_error")


def test_missing_messages(proxy):
    error = _assert_error(_post(proxy, {"model": MODEL}), 400, "invalid_request_error")
    assert error["param"] == "messages"


def test_missing_model(proxy):
    _assert_error(
        _post(proxy, {"messages": [{"role": "user", "content": "x"}]}), 400, "invalid_request_error"
    )


@pytest.mark.parametrize(
    "body,param",
    [
        ({"model": MODEL, "messages": "hello"}, "messages"),
        ({"model": MODEL, "messages": [{"content": "no role"}]}, "messages.0"),
        ({"model": 12, "messages": [{"role": "user", "content": "x"}]}, "model"),
        (
            {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "stream": "yes"},
            "stream",
        ),
    ],
)
def test_invalid_fields(proxy, body, param):
    error = _assert_error(_post(proxy, body), 422, "invalid_request_error")
    assert error["param"] == param


@pytest.mark.parametrize(
    "messages,param",
    [
        ("hello", "messages"),
        ([], "messages"),
        ([{"role": "user", "content": "x"}, "hi"], "messages.1"),
        ([{"role": 3, "content": "x"}], "messages.0"),
    ],
)
@pytest.mark.parametrize("check", [check_chat_body, MessagesAdapter.check])
def test_chat_and_messages_check_messages_alike(check, messages, param):
    with pytest.raises(InvalidField) as raised:
        check({"model": MODEL, "messages": messages})
    assert raised.value.param == param and raised.value.status == 422


def test_unknown_model(proxy):
    error = _assert_error(
        _post(proxy, {"model": "nope", "messages": [{"role": "user", "content": "x"}]}),
        404,
        "not_found_error",
    )
    assert error["code"] == "model_not_found"


def test_body_too_large(proxy, upstream):
    big = "x" * (70 * 1024)
    response = _post(proxy, {"model": MODEL, "messages": [{"role": "user", "content": big}]})
    _assert_error(response, 413, "invalid_request_error")
    assert upstream.requests == []


@pytest.mark.parametrize(
    "status,kind,code",
    [
        (400, "invalid_request_error", None),
        (429, "requests", "rate_limit_exceeded"),
        (429, "insufficient_quota", "insufficient_quota"),
        (401, "invalid_request_error", "invalid_api_key"),
        (503, "server_error", None),
    ],
)
def test_upstream_errors_passed_on(proxy, upstream, status, kind, code):
    # The provider's own type and code, on either path: never codes of ours.
    upstream.replies.append(
        Reply(status=status, error=f"provider said {status}", error_type=kind, error_code=code)
    )
    response = _post(proxy, {"model": MODEL, "messages": [{"role": "user", "content": "x"}]})
    error = _assert_error(response, status, kind)
    assert error["code"] == code
    assert f"provider said {status}" in error["message"]


def test_upstream_unreachable(proxy):
    response = _post(proxy, {"model": "dead-model", "messages": [{"role": "user", "content": "x"}]})
    error = _assert_error(response, 502, "upstream_error")
    assert error["code"] == "upstream_unreachable"


def test_upstream_timeout(proxy, upstream):
    upstream.replies.append(Reply(delay=8))
    response = _post(proxy, {"model": MODEL, "messages": [{"role": "user", "content": "x"}]})
    error = _assert_error(response, 504, "timeout_error")
    assert error["code"] == "upstream_timeout"


def test_openai_client_sees_typed_errors(client, upstream):
    upstream.replies.append(Reply(status=429, error="slow down"))
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])


def test_streaming_upstream_error_before_first_chunk(proxy, upstream):
    upstream.replies.append(Reply(status=429, error="slow down", error_type="tokens"))
    response = _post(
        proxy, {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "x"}]}
    )
    _assert_error(response, 429, "tokens")


def test_errors_carry_request_id(proxy):
    response = _post(proxy, {"model": "nope", "messages": [{"role": "user", "content": "x"}]})
    assert response.headers["x-selfmodel-request-id"].startswith("req_")


def test_unknown_route_is_openai_shaped(proxy):
    response = httpx.get(proxy.url + "/v1/nothing-here")
    _assert_error(response, 404, "not_found_error")


def test_missing_provider_key_is_a_clear_401(make_proxy, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    proxy = make_proxy(
        {
            "model_list": [
                {"model_name": "keyless", "litellm_params": {"model": "openai/gpt-4o-mini"}}
            ]
        }
    )
    response = _post(proxy, {"model": "keyless", "messages": [{"role": "user", "content": "x"}]})
    error = _assert_error(response, 401, "authentication_error")
    assert error["code"] == "provider_key_missing"
