"""run_bounded: asyncio.run whose end never hangs on a task that ignores its cancellation."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from nats_fault_harness.scenario._loop import abandoned_tasks, run_bounded


async def _stubborn() -> None:
    """A background loop that swallows every cancellation (a common service bug)."""
    while True:
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            pass


def test_returns_the_result_like_asyncio_run() -> None:
    async def main() -> int:
        await asyncio.sleep(0)
        return 42

    assert run_bounded(main()) == 42


def test_raises_what_main_raises() -> None:
    async def main() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        run_bounded(main())


def test_a_task_that_ignores_cancellation_is_abandoned_not_waited_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def main() -> str:
        task = asyncio.create_task(_stubborn(), name="stubborn-flusher")
        await asyncio.sleep(0.05)
        assert not task.done()
        return "done"

    started = time.monotonic()
    assert run_bounded(main(), grace_s=0.3) == "done"
    assert time.monotonic() - started < 5  # asyncio.run would never return
    assert "stubborn-flusher" in abandoned_tasks()
    err = capsys.readouterr().err
    assert "abandoned 1 task(s) that ignored their cancellation" in err
    assert "stubborn-flusher" in err


def test_well_behaved_leftovers_are_cancelled_and_awaited() -> None:
    cleaned = threading.Event()

    async def tidy() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            cleaned.set()

    async def main() -> None:
        task = asyncio.create_task(tidy(), name="tidy")
        await asyncio.sleep(0.01)
        assert not task.done()

    before = len(abandoned_tasks())
    run_bounded(main(), grace_s=5)
    assert cleaned.is_set()
    assert len(abandoned_tasks()) == before


def test_a_stuck_worker_thread_does_not_hang_the_end(capsys: pytest.CaptureFixture[str]) -> None:
    release = threading.Event()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.run_in_executor(None, release.wait, 5)
        await asyncio.sleep(0.01)

    started = time.monotonic()
    try:
        run_bounded(main(), grace_s=0.3)
        assert time.monotonic() - started < 3  # the thread would take 5 s
        assert "did not finish in 0.3 s" in capsys.readouterr().err
    finally:
        release.set()
