"""In-process learning waits out the requests' busy phases, but never for long."""

from __future__ import annotations

import asyncio

from memory.learn.foreground import Foreground


async def _quiet_returns_at_once_when_no_request_is_busy() -> None:
    foreground = Foreground(patience=60)
    await asyncio.wait_for(foreground.quiet(), 5)


async def _quiet_waits_until_the_last_busy_phase_ends() -> None:
    foreground = Foreground(patience=60)
    with foreground.busy():
        with foreground.busy():
            waiting = asyncio.ensure_future(foreground.quiet())
            for _ in range(20):
                await asyncio.sleep(0)
            assert not waiting.done()
        for _ in range(20):
            await asyncio.sleep(0)
        assert not waiting.done()  # one phase is still busy
    await asyncio.wait_for(waiting, 5)


async def _a_busy_proxy_keeps_learning_after_the_patience() -> None:
    foreground = Foreground(patience=0.01)
    with foreground.busy():
        await asyncio.wait_for(foreground.quiet(), 5)


async def _a_failing_phase_still_ends_busy() -> None:
    foreground = Foreground(patience=60)
    try:
        with foreground.busy():
            raise RuntimeError("the plan failed")
    except RuntimeError:
        pass
    await asyncio.wait_for(foreground.quiet(), 5)


def test_quiet_returns_at_once_when_no_request_is_busy() -> None:
    asyncio.run(_quiet_returns_at_once_when_no_request_is_busy())


def test_quiet_waits_until_the_last_busy_phase_ends() -> None:
    asyncio.run(_quiet_waits_until_the_last_busy_phase_ends())


def test_a_busy_proxy_keeps_learning_after_the_patience() -> None:
    asyncio.run(_a_busy_proxy_keeps_learning_after_the_patience())


def test_a_failing_phase_still_ends_busy() -> None:
    asyncio.run(_a_failing_phase_still_ends_busy())


async def _a_request_waiting_for_its_provider_lets_learning_run() -> None:
    foreground = Foreground(patience=60)
    with foreground.busy():
        with foreground.idle():
            await asyncio.wait_for(foreground.quiet(), 5)
        waiting = asyncio.ensure_future(foreground.quiet())
        for _ in range(20):
            await asyncio.sleep(0)
        assert not waiting.done()  # the answer came: the request is busy again
    await asyncio.wait_for(waiting, 5)


def test_a_request_waiting_for_its_provider_lets_learning_run() -> None:
    asyncio.run(_a_request_waiting_for_its_provider_lets_learning_run())
