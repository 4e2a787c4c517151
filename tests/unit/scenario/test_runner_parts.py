"""The runner's small parts: generated messages, loop-lag sampling."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from pydantic import ValidationError

from nats_fault_harness.reference.schemas import (
    detect_message_type,
    first_invalid_field,
    validate_message,
)
from nats_fault_harness.scenario._lag import LoopLag
from nats_fault_harness.scenario._messages import (
    invalid_message,
    invalid_payload,
    message_id_of,
    valid_message,
)


@pytest.mark.parametrize("i", range(4))
def test_valid_messages_alternate_chat_and_event_and_pass_the_schemas(i: int) -> None:
    message = valid_message(i, f"id{i}")
    assert detect_message_type(message) == ("chat" if i % 2 == 0 else "event")
    assert validate_message(message).message_id == f"id{i}"


@pytest.mark.parametrize("i", range(7))
def test_each_invalid_message_is_refused_naming_its_field(i: int) -> None:
    message, field = invalid_message(i, f"bad{i}")
    with pytest.raises(ValidationError) as caught:
        validate_message(message)
    assert first_invalid_field(caught.value) == field


def test_invalid_payloads_mix_schema_errors_and_non_objects() -> None:
    payloads = [invalid_payload(i, f"p{i}") for i in range(6)]
    assert [json.loads(p).__class__.__name__ for p in payloads] == [
        "dict",
        "dict",
        "list",
        "dict",
        "dict",
        "list",
    ]
    assert message_id_of(payloads[0]) == "p0"
    assert message_id_of(payloads[2]) is None
    assert message_id_of(b"{not json") is None
    assert message_id_of(b"m-1 ....") is None


def test_loop_lag_sees_a_blocking_call_but_not_marked_harness_work() -> None:
    async def run(block: float, marked: bool) -> float:
        lag = LoopLag(interval_s=0.01)
        stop = asyncio.Event()
        sampler = asyncio.create_task(lag.run(stop))
        await asyncio.sleep(0.05)
        if marked:
            with lag.harness():
                time.sleep(block)  # noqa: ASYNC251 - the blocking call under test
        else:
            time.sleep(block)  # noqa: ASYNC251 - the blocking call under test
        await asyncio.sleep(0.05)
        stop.set()
        await sampler
        detail = lag.detail()
        assert detail["count"] >= 5
        return float(detail["max_ms"])

    assert asyncio.run(run(0.3, marked=False)) >= 250.0
    assert asyncio.run(run(0.3, marked=True)) < 150.0
