"""The drop-in contract: the official openai client against the real proxy."""

from __future__ import annotations

import asyncio
import json

import openai
import pytest

from tests.conftest import MODEL
from tests.fake_upstream import Reply

BOTH_UPSTREAM_PATHS = True  # see tests/conftest.py

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


def test_non_streaming_round_trip(client, upstream):
    upstream.replies.append(Reply(content="Paris is the capital."))
    response = client.chat.completions.with_raw_response.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Capital of France?"}],
        temperature=0.3,
        max_tokens=50,
        seed=7,
    )
    completion = response.parse()
    assert completion.choices[0].message.content == "Paris is the capital."
    assert completion.usage.total_tokens == 15
    assert response.headers["x-selfmodel-request-id"].startswith("req_")
    assert response.headers["x-selfmodel-injected"] == "0"
    sent = upstream.chat_requests[-1]
    assert sent["model"] == "gpt-test"
    assert sent["temperature"] == 0.3 and sent["max_tokens"] == 50 and sent["seed"] == 7
    assert sent["messages"] == [{"role": "user", "content": "Capital of France?"}]


def test_response_body_has_nothing_added(proxy, upstream):
    import httpx

    upstream.replies.append(Reply(content="hi"))
    body = httpx.post(
        proxy.url + "/v1/chat/completions",
        json={"model": MODEL, "messages": [{"role": "user", "content": "x"}]},
    ).json()
    assert set(body) == {"id", "object", "created", "model", "choices", "usage"}
    assert set(body["choices"][0]) <= {"index", "message", "logprobs", "finish_reason"}
    assert set(body["choices"][0]["message"]) == {"role", "content"}


def test_unknown_parameters_pass_through_untouched(client, upstream):
    client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "x"}],
        user="alice-pass",
        logit_bias={"50256": -100},
        top_p=0.5,
        presence_penalty=0.1,
        stop=["END"],
        extra_body={"custom_provider_flag": {"nested": [1, 2]}},
    )
    sent = upstream.chat_requests[-1]
    assert sent["custom_provider_flag"] == {"nested": [1, 2]}
    assert sent["logit_bias"] == {"50256": -100}
    assert sent["top_p"] == 0.5 and sent["stop"] == ["END"]
    assert sent["user"] == "alice-pass"


def test_streaming_relays_chunks_and_done(client, upstream):
    upstream.replies.append(Reply(content="one two three four five six"))
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "count"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three four five six"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 15
    assert upstream.chat_requests[-1]["stream"] is True
    assert upstream.chat_requests[-1]["stream_options"] == {"include_usage": True}


def test_raw_sse_framing(proxy, upstream):
    import httpx

    upstream.replies.append(Reply(content="a b c"))
    with httpx.stream(
        "POST",
        proxy.url + "/v1/chat/completions",
        json={"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "x"}]},
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-selfmodel-request-id"].startswith("req_")
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    for line in lines[:-1]:
        assert json.loads(line[6:])["object"] == "chat.completion.chunk"


def test_tool_call_round_trip(client, upstream):
    upstream.replies.append(
        Reply(
            tool_calls=[
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                }
            ]
        )
    )
    first = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
        tools=TOOLS,
        tool_choice="auto",
    )
    call = first.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Oslo"}
    assert upstream.chat_requests[-1]["tools"] == TOOLS
    assert upstream.chat_requests[-1]["tool_choice"] == "auto"
    upstream.replies.append(Reply(content="It is 3°C in Oslo."))
    second = client.chat.completions.create(
        model=MODEL,
        tools=TOOLS,
        messages=[
            {"role": "user", "content": "Weather in Oslo?"},
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 3}'},
        ],
    )
    assert second.choices[0].message.content == "It is 3°C in Oslo."
    sent = upstream.chat_requests[-1]["messages"]
    assert sent[1]["tool_calls"][0]["id"] == "call_1"
    assert sent[2] == {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 3}'}


def test_json_mode_and_schema(client, upstream):
    upstream.replies.append(Reply(content='{"answer": 42}'))
    result = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "json please"}],
        response_format={"type": "json_object"},
    )
    assert json.loads(result.choices[0].message.content) == {"answer": 42}
    assert upstream.chat_requests[-1]["response_format"] == {"type": "json_object"}
    schema = {
        "type": "json_schema",
        "json_schema": {
            "name": "a",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"answer": {"type": "integer"}},
                "required": ["answer"],
                "additionalProperties": False,
            },
        },
    }
    upstream.replies.append(Reply(content='{"answer": 7}'))
    client.chat.completions.create(
        model=MODEL, response_format=schema, messages=[{"role": "user", "content": "x"}]
    )
    assert upstream.chat_requests[-1]["response_format"] == schema


def test_n_choices(client, upstream):
    result = client.chat.completions.create(
        model=MODEL, n=3, messages=[{"role": "user", "content": "x"}]
    )
    assert len(result.choices) == 3
    assert upstream.chat_requests[-1]["n"] == 3


def test_async_client_stream_and_plain(proxy, upstream):
    async def run() -> tuple[str, str]:
        client = openai.AsyncOpenAI(base_url=proxy.url + "/v1", api_key="k", max_retries=0)
        upstream.replies.append(Reply(content="async plain"))
        plain = await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "x"}]
        )
        upstream.replies.append(Reply(content="async streamed reply"))
        stream = await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "x"}], stream=True
        )
        parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        await client.close()
        return plain.choices[0].message.content, "".join(parts)

    plain, streamed = asyncio.run(run())
    assert plain == "async plain"
    assert streamed == "async streamed reply"


def test_models_endpoint(client):
    ids = [m.id for m in client.models.list()]
    assert ids == ["gpt-test", "byok-model", "dead-model"]


def test_bring_your_own_key_forwards_client_key(client, upstream):
    client.chat.completions.create(model="byok-model", messages=[{"role": "user", "content": "x"}])
    assert upstream.headers[-1]["authorization"] == "Bearer sk-client"


def test_provider_key_is_used_for_configured_models(client, upstream):
    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert upstream.headers[-1]["authorization"] == "Bearer sk-provider-secret"


@pytest.mark.parametrize("header_user", [True, False])
def test_end_user_from_field_or_header(proxy, upstream, header_user):
    import httpx

    body = {"model": MODEL, "messages": [{"role": "user", "content": "x"}]}
    headers = {}
    if header_user:
        headers["X-Selfmodel-User"] = "bob"
    else:
        body["user"] = "bob"
    response = httpx.post(proxy.url + "/v1/chat/completions", json=body, headers=headers)
    assert response.status_code == 200
    proxy.state.memory.audit_log.flush()
    record = proxy.state.memory.audit_log.get("default", response.headers["x-selfmodel-request-id"])
    assert record["user"] == "bob"
