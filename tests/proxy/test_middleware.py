"""The response status the access log and the server span record (`ResponseStatus`)."""

from __future__ import annotations

import anyio
import pytest

from proxy.middleware import ResponseStatus


def _relay(*messages: dict, fail: bool = False) -> tuple[int, list[dict]]:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def run() -> int:
        status = ResponseStatus(send)
        try:
            for message in messages:
                await status(message)
            if fail:
                raise RuntimeError("the app failed")
        except RuntimeError:
            pass
        return status.code

    return anyio.run(run), sent


def test_the_started_response_status_is_kept_and_every_message_passed_on():
    start = {"type": "http.response.start", "status": 201, "headers": []}
    body = {"type": "http.response.body", "body": b"{}"}
    code, sent = _relay(start, body)
    assert code == 201
    assert sent == [start, body]


@pytest.mark.parametrize("messages", [(), ({"type": "http.response.body", "body": b""},)])
def test_an_app_that_fails_before_starting_a_response_counts_as_500(messages):
    code, sent = _relay(*messages, fail=True)
    assert code == 500
    assert sent == list(messages)


def test_a_failure_after_the_start_keeps_the_status_sent():
    code, _ = _relay({"type": "http.response.start", "status": 429, "headers": []}, fail=True)
    assert code == 429
