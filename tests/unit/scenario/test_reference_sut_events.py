"""The reference adapter's event mapping, without servers (a stub stands in for the stats)."""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from nats_fault_harness.reference import RetryRecord, ServiceEvent
from nats_fault_harness.scenario._reference_sut import ReferenceSut
from nats_fault_harness.services._protocol import SutEnv


def _sut(log: list[RetryRecord]) -> tuple[ReferenceSut, list[tuple[str, dict[str, Any]]]]:
    written: list[tuple[str, dict[str, Any]]] = []

    def sink(kind: str, detail: Mapping[str, Any]) -> None:
        written.append((kind, dict(detail)))

    sut = ReferenceSut()
    stats = SimpleNamespace(retry_log=log)
    sut._service = SimpleNamespace(get_connection_stats=lambda: stats)  # type: ignore[assignment]
    sut._env = SutEnv((), (), {}, at=lambda m: m - 100.0)
    sut._report = sink
    return sut, written


def test_retry_events_are_held_until_the_retry_log_has_their_start() -> None:
    log: list[RetryRecord] = []
    sut, written = _sut(log)
    sut._observe(ServiceEvent("group_failed", 100.5, subject="s", message_ids=("a",), attempt=0))
    sut._observe(ServiceEvent("retry_scheduled", 100.51, subject="s", attempt=1, delay=0.1))
    sut._observe(ServiceEvent("disconnected", 100.52, member="sut-main"))  # not held
    sut._observe(ServiceEvent("group_published", 100.7, subject="s", message_ids=("a",)))
    assert [k for k, _ in written] == ["group_failed", "disconnected"]
    log.append(RetryRecord("s", 1, 0.1, 100.5, 100.61, "sut-pool-0", "published", 1))
    sut._release()
    assert [k for k, _ in written] == [
        "group_failed",
        "disconnected",
        "retry_scheduled",
        "group_published",
    ]
    retry = written[2][1]
    assert retry["group"] == "s"
    assert retry["attempt"] == 1
    assert retry["delay"] == 0.1
    assert abs(retry["failed_at"] - 0.5) < 1e-9
    assert abs(retry["started_at"] - 0.61) < 1e-9


def test_unresolved_retries_are_written_at_stop_and_invalid_incoming_is_renamed() -> None:
    sut, written = _sut([])
    sut._observe(ServiceEvent("retry_scheduled", 100.0, subject="s", attempt=1, delay=0.1))
    sut._observe(ServiceEvent("incoming_invalid", 100.1, subject="in", error="bad"))
    sut._release(final=True)
    assert [k for k, _ in written] == ["invalid_incoming", "retry_scheduled"]
    assert "started_at" not in written[1][1]
