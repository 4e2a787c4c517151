"""History: the append-only journal every checker and report reads."""

from __future__ import annotations

import json
import threading

import pytest

from nats_fault_harness.history import ClientEvent, ErrorInfo, FaultRecord, History, Op, ProxyEvent


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_operation_invoke_then_complete_once() -> None:
    clock = FakeClock()
    h = History(clock=clock)
    clock.now = 100.5
    op = h.invoke("svc", "publish", {"id": 1})
    clock.now = 100.75
    done = op.ok({"id": 1, "seq": 9})
    assert op.invocation.t == 0.5
    assert done.t == 0.75
    assert done.type == "ok"
    assert done.op_id == op.invocation.op_id
    with pytest.raises(RuntimeError, match="already completed"):
        op.fail()
    assert [o.type for o in h.ops()] == ["invoke", "ok"]


def test_fail_and_info_capture_typed_errors_with_fields_and_cause() -> None:
    class RequestError(Exception):
        def __init__(self, subject: str, timeout: float) -> None:
            super().__init__(f"request to {subject} timed out")
            self.subject = subject
            self.timeout = timeout

    h = History()
    try:
        try:
            raise TimeoutError("inner")
        except TimeoutError as inner:
            raise RequestError("svc.echo", 0.5) from inner
    except RequestError as exc:
        done = h.invoke("svc", "request").info(exc)
    assert done.error is not None
    assert done.error.type.endswith("RequestError")
    assert done.error.fields == {"subject": "svc.echo", "timeout": 0.5}
    assert done.error.cause is not None
    assert done.error.cause.type == "TimeoutError"
    assert h.invoke("svc", "publish").fail(ValueError("bad")).type == "fail"


def test_fault_windows_open_and_close() -> None:
    clock = FakeClock()
    h = History(clock=clock)
    fid = h.fault_started("latency", "link:n0", {"ms": 200})
    assert [f.fault_id for f in h.open_faults()] == [fid]
    assert h.faults()[0].end is None
    clock.now = 102.0
    ended = h.fault_ended(fid)
    assert ended.start == 0.0
    assert ended.end == 2.0
    assert h.open_faults() == []
    assert len(h.faults()) == 1
    with pytest.raises(KeyError, match="not open"):
        h.fault_ended(fid)


def test_concurrent_appends_lose_nothing_and_keep_indices_dense() -> None:
    h = History()

    def work(n: int) -> None:
        for i in range(500):
            h.invoke(f"p{n}", "publish", i).ok()
            h.client_event(f"c{n}", "error", {"i": i})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = h.records()
    assert len(records) == 8 * 500 * 3
    assert [r.index for r in records] == list(range(len(records)))
    times = [r.t for r in records if isinstance(r, Op | ClientEvent)]
    assert times == sorted(times)


def test_json_round_trip_keeps_every_field() -> None:
    h = History()
    h.invoke("svc", "publish", {"ids": [1, 2]}).fail(ValueError("nope"))
    fid = h.fault_started("kill", "server:a", {})
    h.fault_ended(fid)
    open_id = h.fault_started("pause", "server:b")
    h.client_event("svc", "disconnected")
    h.proxy_event("connection_opened", {"id": 3, "bytes": 10}, t=1.25)
    text = h.to_json()
    json.loads(text)
    again = History.from_json(text)
    assert again.records() == h.records()
    assert [f.fault_id for f in again.open_faults()] == [open_id]
    assert isinstance(again.records()[-1], ProxyEvent)
    assert isinstance(again.faults()[0], FaultRecord)


def test_values_are_made_json_safe() -> None:
    h = History()
    h.client_event("svc", "error", {"error": ConnectionResetError(104, "reset"), "b": b"x"})
    detail = h.client_events()[0].detail
    assert detail["error"]["type"] == "ConnectionResetError"
    assert detail["b"] == "b'x'"
    json.dumps(h.to_dict())


def test_error_info_from_dict_round_trip() -> None:
    info = ErrorInfo.of(ValueError("x"))
    from dataclasses import asdict

    assert ErrorInfo.from_dict(asdict(info)) == info
