"""Every client drops in: the real SDKs (openai, anthropic, langchain-openai, openai-agents)
against the proxy and the fake provider, for each API, streamed and not."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest

from tests.conftest import MODEL, base_config
from tests.fake_upstream import Reply

CLAUDE = "claude-test"
ANTHROPIC_ENTRY = {
    "model_name": CLAUDE,
    "litellm_params": {"model": "anthropic/claude-test", "api_key": "sk-ant-provider"},
}


@pytest.fixture
def proxy(make_proxy, upstream_url, tmp_path):
    entries = base_config(tmp_path, upstream_url)["model_list"]
    claude = {**ANTHROPIC_ENTRY}
    # As Anthropic's own base URL: the host, without /v1.
    claude["litellm_params"] = {**claude["litellm_params"], "api_base": upstream_url[:-3]}
    return make_proxy({"model_list": [*entries, claude]})


def _belief(proxy, user, statement):
    response = httpx.post(
        f"{proxy.url}/v1/users/{user}/beliefs",
        json={"statement": statement, "context": "constraints"},
    )
    assert response.status_code == 201


def _oai(proxy, **kw):
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key="sk-client", max_retries=0, **kw)


def _audit(proxy, request_id):
    memory = proxy.state.memory
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        memory.audit_log.flush()
        record = memory.audit_log.get("default", request_id)
        if record is not None:
            return record
        time.sleep(0.05)
    raise AssertionError(f"no audit record for {request_id}")


def _jobs(proxy):
    return [job["request_id"] for job in proxy.state.memory.outbox.jobs("default")]


# ----------------------------------------------------------------------------- Responses API


def test_responses_injects_into_instructions_and_learns(proxy, upstream):
    _belief(proxy, "ana", "Is allergic to sesame.")
    upstream.replies.append(Reply(content="Try a lentil soup."))
    raw = _oai(proxy).responses.with_raw_response.create(
        model=MODEL, instructions="You are a chef.", input="I'm vegetarian, dinner?", user="ana"
    )
    response = raw.parse()
    assert response.output_text == "Try a lentil soup."
    assert raw.http_response.content == upstream.sent[-1]  # byte for byte
    assert raw.headers["x-request-id"] == "req_fake" and raw.headers["x-selfmodel-injected"] == "1"
    sent = upstream.requests_to("/responses")[-1]
    assert sent["instructions"].startswith("<user_model")
    assert "sesame" in sent["instructions"] and sent["instructions"].endswith("You are a chef.")
    assert sent["input"] == "I'm vegetarian, dinner?" and sent["user"] == "ana"
    request_id = raw.headers["x-selfmodel-request-id"]
    assert _audit(proxy, request_id)["status"] == 200
    assert request_id in _jobs(proxy)


def test_responses_stream_is_relayed_as_sent(proxy, upstream):
    _belief(proxy, "bo", "Is allergic to kiwi.")
    upstream.replies.append(Reply(content="one two three four"))
    events = list(
        _oai(proxy).responses.create(
            model=MODEL,
            stream=True,
            safety_identifier="bo",
            input=[{"role": "user", "content": [{"type": "input_text", "text": "Snack?"}]}],
            previous_response_id="resp_earlier",
        )
    )
    assert [e.type for e in events][-1] == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "one two three four"
    sent = upstream.requests_to("/responses")[-1]
    assert "kiwi" in sent["instructions"] and sent["previous_response_id"] == "resp_earlier"


def test_responses_before_last_user_rule_adds_an_input_item(make_proxy, upstream):
    proxy = make_proxy({"injection": {"rules": [{"name": "late", "position": "before_last_user"}]}})
    _belief(proxy, "cy", "Is allergic to celery.")
    _oai(proxy).responses.create(
        model=MODEL, input="Soup ideas?", extra_headers={"X-Selfmodel-User": "cy"}
    )
    sent = upstream.requests_to("/responses")[-1]
    assert sent["input"][0]["role"] == "system" and "celery" in sent["input"][0]["content"]
    assert sent["input"][1] == {"role": "user", "content": "Soup ideas?"}
    assert "instructions" not in sent


def test_responses_errors_are_the_providers(proxy, upstream):
    upstream.replies.append(
        Reply(
            status=429,
            error="Rate limit reached",
            error_type="requests",
            error_code="rate_limit_exceeded",
            headers={"retry-after": "7"},
        )
    )
    with pytest.raises(openai.RateLimitError) as caught:
        _oai(proxy).responses.create(model=MODEL, input="hi")
    assert caught.value.code == "rate_limit_exceeded" and caught.value.type == "requests"
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.response.content == upstream.sent[-1]


# ----------------------------------------------------------------------------- embeddings


def test_embeddings_pass_through_without_injection(proxy, upstream):
    _belief(proxy, "di", "Is allergic to lupin.")
    raw = _oai(proxy).embeddings.with_raw_response.create(
        model=MODEL, input=["hello", "world"], user="di"
    )
    result = raw.parse()
    assert len(result.data) == 2 and len(result.data[0].embedding) == 8
    assert raw.http_response.content == upstream.sent[-1]
    sent = upstream.requests_to("/embeddings")[-1]
    assert sent["input"] == ["hello", "world"] and "lupin" not in json.dumps(sent)
    record = _audit(proxy, raw.headers["x-selfmodel-request-id"])
    assert record["status"] == 200 and record["injected"] == [] and record["rule"] is None


def test_unsupported_paths_say_so(proxy):
    with pytest.raises(openai.NotFoundError) as caught:
        _oai(proxy).images.generate(model=MODEL, prompt="a red bicycle")
    error = caught.value.response.json()["error"]
    assert error["message"] == "/v1/images/generations is not supported by selfmodel"
    assert error["type"] == "not_found_error" and error["code"] == "unsupported_endpoint"


# ----------------------------------------------------------------------------- fidelity


def test_chat_error_body_status_and_headers_are_the_providers(proxy, upstream):
    upstream.replies.append(
        Reply(
            status=429,
            error="You exceeded your current quota",
            error_type="insufficient_quota",
            error_code="insufficient_quota",
            headers={"retry-after": "3", "x-ratelimit-reset-requests": "3s"},
        )
    )
    response = httpx.post(
        proxy.url + "/v1/chat/completions",
        json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 429 and response.content == upstream.sent[-1]
    for name in (
        "retry-after",
        "x-ratelimit-reset-requests",
        "x-request-id",
        "openai-processing-ms",
    ):
        assert name in response.headers
    assert "x-fake-internal" not in response.headers


def test_chat_answer_is_byte_for_byte(proxy, upstream):
    response = httpx.post(
        proxy.url + "/v1/chat/completions",
        json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.content == upstream.sent[-1]
    assert response.headers["x-ratelimit-remaining-requests"] == "99"


@pytest.mark.parametrize("cut", ["eof", "drop"])
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/responses"])
def test_a_cut_stream_stays_cut_is_audited_and_not_learned(proxy, upstream, cut, path):
    upstream.stream_chunks = 6
    upstream.replies.append(Reply(content="a b c d e f g h", cut=cut))
    body = {"model": MODEL, "stream": True, "user": "eve"}
    if path.endswith("responses"):
        body["input"] = "I'm vegan. Dinner ideas please?"
    else:
        body["messages"] = [{"role": "user", "content": "I'm vegan. Dinner ideas please?"}]
    with httpx.stream("POST", proxy.url + path, json=body, timeout=30) as response:
        request_id = response.headers["x-selfmodel-request-id"]
        raw = b"".join(response.iter_raw())
    assert b"[DONE]" not in raw and b"response.completed" not in raw
    assert b'"finish_reason":"stop"' not in raw.replace(b" ", b"")
    assert b"error" in raw.rsplit(b"\n\n", 2)[-2]  # one error event, last
    record = _audit(proxy, request_id)
    assert record["status"] == 502 and record["stream"] is True
    assert request_id not in _jobs(proxy)


def test_the_openai_sdk_raises_on_a_cut_chat_stream(proxy, upstream):
    upstream.replies.append(Reply(content="a b c d e f", cut="eof"))
    with pytest.raises(openai.APIError):
        for _ in _oai(proxy).chat.completions.create(
            model=MODEL, stream=True, messages=[{"role": "user", "content": "hi"}]
        ):
            pass


# ----------------------------------------------------------------------------- Anthropic


def _anthropic(proxy, **kw):
    import anthropic

    return anthropic.Anthropic(base_url=proxy.url, api_key="sk-ant-client", max_retries=0, **kw)


def test_anthropic_messages_inject_into_system(proxy, upstream):
    _belief(proxy, "fa", "Is allergic to mustard.")
    upstream.replies.append(Reply(content="A mild curry."))
    raw = _anthropic(proxy).messages.with_raw_response.create(
        model=CLAUDE,
        max_tokens=64,
        system="You are a chef.",
        metadata={"user_id": "fa"},
        messages=[{"role": "user", "content": "I'm vegetarian. Dinner?"}],
    )
    message = raw.parse()
    assert message.content[0].text == "A mild curry."
    assert raw.http_response.content == upstream.sent[-1]
    sent = upstream.requests_to("/messages")[-1]
    headers = upstream.headers[-1]
    assert headers["x-api-key"] == "sk-ant-provider" and "anthropic-version" in headers
    assert sent["model"] == "claude-test" and "mustard" in sent["system"]
    assert sent["system"].startswith("<user_model") and sent["system"].endswith("You are a chef.")
    assert raw.headers["x-selfmodel-request-id"] in _jobs(proxy)


def test_anthropic_stream_events_as_sent(proxy, upstream):
    _belief(proxy, "gu", "Is allergic to soy.")
    upstream.replies.append(Reply(content="Rice with greens."))
    client = _anthropic(proxy, default_headers={"X-Selfmodel-User": "gu"})
    with client.messages.stream(
        model=CLAUDE,
        max_tokens=64,
        system=[{"type": "text", "text": "You are a chef."}],
        messages=[{"role": "user", "content": "Lunch?"}],
    ) as stream:
        text = "".join(stream.text_stream)
    assert text == "Rice with greens."
    system = upstream.requests_to("/messages")[-1]["system"]
    assert "soy" in system[0]["text"] and system[1] == {"type": "text", "text": "You are a chef."}


def test_messages_refuses_a_model_that_is_not_anthropic(proxy):
    import anthropic

    with pytest.raises(anthropic.BadRequestError):
        _anthropic(proxy).messages.create(
            model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "hi"}]
        )


# ----------------------------------------------------------------------------- frameworks


def test_langchain_with_and_without_the_responses_api(proxy, upstream):
    from langchain_openai import ChatOpenAI

    _belief(proxy, "hu", "Is allergic to eggs.")
    for responses_api, path in ((False, "/chat/completions"), (True, "/responses")):
        llm = ChatOpenAI(
            model=MODEL,
            base_url=proxy.url + "/v1",
            api_key="sk-client",
            max_retries=0,
            use_responses_api=responses_api,
            default_headers={"X-Selfmodel-User": "hu"},
        )
        upstream.replies.append(Reply(content=f"reply via {path}"))
        assert llm.invoke("Breakfast?").text == f"reply via {path}"
        assert "eggs" in json.dumps(upstream.requests_to(path)[-1])


def test_openai_agents_runner(proxy, upstream):
    from agents import Agent, OpenAIResponsesModel, Runner, set_tracing_disabled

    set_tracing_disabled(True)
    _belief(proxy, "io", "Is allergic to oats.")
    upstream.replies.append(Reply(content="Have some fruit."))
    client = openai.AsyncOpenAI(
        base_url=proxy.url + "/v1",
        api_key="sk-client",
        max_retries=0,
        default_headers={"X-Selfmodel-User": "io"},
    )
    agent = Agent(
        name="Chef",
        instructions="You are a chef.",
        model=OpenAIResponsesModel(model=MODEL, openai_client=client),
    )
    assert Runner.run_sync(agent, "Breakfast?").final_output == "Have some fruit."
    sent = upstream.requests_to("/responses")[-1]
    assert "oats" in sent["instructions"] and "You are a chef." in sent["instructions"]


# ----------------------------------------------------------------------------- through litellm


@pytest.fixture
def litellm_proxy(make_proxy):
    return make_proxy({"server": {"direct_openai": False}})


def test_responses_and_embeddings_through_litellm(litellm_proxy, upstream):
    _belief(litellm_proxy, "jo", "Is allergic to fish.")
    upstream.replies.append(Reply(content="Pasta."))
    client = _oai(litellm_proxy)
    assert client.responses.create(model=MODEL, input="Dinner?", user="jo").output_text == "Pasta."
    assert "fish" in upstream.requests_to("/responses")[-1]["instructions"]
    upstream.replies.append(Reply(content="one two three"))
    events = list(client.responses.create(model=MODEL, input="Lunch?", user="jo", stream=True))
    assert events[-1].type == "response.completed"
    assert len(client.embeddings.create(model=MODEL, input="hello").data[0].embedding) == 8


def test_litellm_errors_keep_the_providers_code(litellm_proxy, upstream):
    upstream.replies.append(
        Reply(
            status=401,
            error="bad key",
            error_type="invalid_request_error",
            error_code="invalid_api_key",
        )
    )
    with pytest.raises(openai.AuthenticationError) as caught:
        _oai(litellm_proxy).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.code == "invalid_api_key"
