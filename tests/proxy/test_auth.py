"""Keys, tenants and bring-your-own-key."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.conftest import MODEL

KEYS = {
    "auth": {
        "keys": [
            {"key": "sk-admin-0123456789", "tenant": "acme", "admin": True},
            {"key": "sk-acme-app-0123456", "tenant": "acme"},
            {"key": "sk-globex-012345678", "tenant": "globex"},
        ]
    }
}


@pytest.fixture
def secured(make_proxy):
    return make_proxy(KEYS)


def test_missing_key_is_401(secured):
    response = httpx.post(
        secured.url + "/v1/chat/completions",
        json={"model": MODEL, "messages": [{"role": "user", "content": "x"}]},
    )
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_wrong_key_is_401_and_not_echoed(secured):
    client = openai.OpenAI(base_url=secured.url + "/v1", api_key="sk-wrong-key-999", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.models.list()
    assert "sk-wrong-key-999" not in str(caught.value)


def test_valid_key_works(secured, upstream):
    client = openai.OpenAI(
        base_url=secured.url + "/v1", api_key="sk-acme-app-0123456", max_retries=0
    )
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert reply.choices[0].message.content
    # our key authenticates to us; the provider gets the configured provider key
    assert upstream.headers[-1]["authorization"] == "Bearer sk-provider-secret"


def test_byok_with_auth_uses_separate_header(secured, upstream):
    client = openai.OpenAI(
        base_url=secured.url + "/v1",
        api_key="sk-users-own-provider-key",
        default_headers={"X-Selfmodel-Key": "sk-acme-app-0123456"},
        max_retries=0,
    )
    client.chat.completions.create(model="byok-model", messages=[{"role": "user", "content": "x"}])
    assert upstream.headers[-1]["authorization"] == "Bearer sk-users-own-provider-key"


def test_healthz_and_metrics_are_open(secured):
    assert httpx.get(secured.url + "/healthz").json()["status"] == "ok"
    assert b"selfmodel_requests_total" in httpx.get(secured.url + "/metrics").content
