"""A process-protocol child that dies, hangs, writes garbage or exits early: a clear verdict
or error, bounded in time, and nothing left running.

Real nats-server, real proxy, the real nats-py client in the child
(``children/misbehave.py``: the nats-py reference adapter plus one defect). Each test also
checks that the child and the grandchild it started are gone afterwards.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nats_fault_harness import _proc
from nats_fault_harness.faults import LinkFactory
from nats_fault_harness.history import History
from nats_fault_harness.scenario import _runner, parse_scenario
from nats_fault_harness.scenario._loop import run_bounded
from nats_fault_harness.scenario._topology import ScenarioEnv
from nats_fault_harness.servers import NatsServer
from nats_fault_harness.services import (
    CapabilityMissing,
    ProcessExited,
    ProcessProtocolError,
    ProcessService,
    ProcessTimeout,
    natspy_client,
)

CHILD = Path(__file__).parent / "children" / "misbehave.py"

PUBLISHES = """\
name: process-misbehaves
claims: [x.y]
workload:
  publishes: {count: 12, rate_per_s: 20, subjects: [proc.misbehave]}
checkers: [{name: accounting}]
timeout_s: 40
"""

BATCHED = """\
name: process-batched
claims: [x.y]
workload:
  publishes: {count: 3, batched: true, subjects: [proc.batch]}
checkers: [{name: accounting}]
timeout_s: 20
"""


class Children:
    """A ``sut_factory`` that remembers every service it made."""

    def __init__(self, mode: str, **kw: Any) -> None:
        self.mode, self.kw = mode, kw
        self.made: list[ProcessService] = []

    def __call__(self) -> ProcessService:
        sut = ProcessService([sys.executable, str(CHILD)], env={"MISBEHAVE": self.mode}, **self.kw)
        self.made.append(sut)
        return sut


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is not running


def assert_all_gone(children: Children, history: History | None = None) -> None:
    pids = [s.proc.pid for s in children.made if s.proc is not None]
    if history is not None:
        pids += [int(e.detail["pid"]) for e in history.client_events() if e.kind == "grandchild"]
    deadline = time.monotonic() + 5
    while any(_running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in pids if _running(p)], "left running"
    assert not _our_children(), "still in the registry"


def _our_children() -> list[dict[str, Any]]:
    """Registry records of process services this test process started and did not reap."""
    found = []
    for entry in _proc.registry_dir().glob("*.json"):
        try:
            record = json.loads(entry.read_text())
        except (OSError, ValueError):
            continue
        if record.get("owner") == os.getpid() and str(record.get("role")).startswith("sut"):
            found.append(record)
    return found


def run(
    text: str,
    factory: Callable[[], Any],
    link: LinkFactory,
    server: NatsServer,
    make_server: Callable[..., NatsServer],
) -> _runner.ScenarioResult:
    env = ScenarioEnv(link, server=server, make_server=make_server)
    return run_bounded(
        _runner.run_scenario(parse_scenario(text), sut_factory=factory, env=env), grace_s=1
    )


def _failures(history: History, f: str = "publish") -> list[tuple[str, str]]:
    return [
        (op.type, op.error.type)
        for op in history.ops()
        if op.f == f and op.type in ("fail", "info") and op.error is not None
    ]


@pytest.mark.parametrize(
    ("mode", "error", "event"),
    [
        ("die:4", ProcessExited, "process_exited"),
        ("garbage:4", ProcessProtocolError, "protocol_violation"),
        ("unknown:4", ProcessProtocolError, "protocol_violation"),
    ],
)
def test_a_child_that_breaks_down_mid_run_ends_the_run_with_its_error(
    mode: str,
    error: type[Exception],
    event: str,
    nats_server: NatsServer,
    nats_link_factory: LinkFactory,
    nats_server_factory: Callable[..., NatsServer],
) -> None:
    children = Children(mode)
    started = time.monotonic()
    with pytest.raises(error, match="during the run") as caught:
        run(PUBLISHES, children, nats_link_factory, nats_server, nats_server_factory)
    assert time.monotonic() - started < 20
    sut = children.made[0]
    assert sut.proc is not None
    assert sut.proc.returncode is not None
    if mode.startswith("die"):
        assert caught.value.exit_code == 3  # type: ignore[attr-defined]
    assert_all_gone(children)


def _recorded(
    mode: str,
    nats_server: NatsServer,
    nats_link_factory: LinkFactory,
    nats_server_factory: Callable[..., NatsServer],
    **kw: Any,
) -> tuple[Children, History, BaseException]:
    """Run with a history we can read after the run's error (the env's fault log)."""
    children = Children(mode, **kw)
    env = ScenarioEnv(nats_link_factory, server=nats_server, make_server=nats_server_factory)
    scenario = parse_scenario(PUBLISHES)
    with pytest.raises(Exception) as caught:
        run_bounded(_runner.run_scenario(scenario, sut_factory=children, env=env), grace_s=1)
    return children, env.log.history, caught.value


def test_the_history_of_a_child_that_dies_names_the_exit_and_the_commands_after_it(
    nats_server: NatsServer,
    nats_link_factory: LinkFactory,
    nats_server_factory: Callable[..., NatsServer],
) -> None:
    children, history, exc = _recorded("die:4", nats_server, nats_link_factory, nats_server_factory)
    assert isinstance(exc, ProcessExited)
    [exited] = [e for e in history.client_events() if e.kind == "process_exited"]
    assert exited.detail["exit_code"] == 3
    failures = _failures(history)
    assert failures[0] == ("info", "ProcessExited")  # the one in flight: ambiguous
    assert set(failures[1:]) == {("fail", "ProcessExited")}  # never sent: nothing reached
    assert len([op for op in history.ops() if op.f == "publish" and op.type == "ok"]) == 3
    assert_all_gone(children, history)


def test_a_command_never_answered_times_out_kills_the_child_and_fails_fast_after(
    nats_server: NatsServer,
    nats_link_factory: LinkFactory,
    nats_server_factory: Callable[..., NatsServer],
) -> None:
    started = time.monotonic()
    children, history, exc = _recorded(
        "hang:3", nats_server, nats_link_factory, nats_server_factory, command_timeout_s=1.0
    )
    assert time.monotonic() - started < 15  # one bound of 1 s, not one per command
    assert isinstance(exc, ProcessTimeout)
    assert "did not answer 'publish' within 1 s" in str(exc)
    [timeout] = [e for e in history.client_events() if e.kind == "process_timeout"]
    assert timeout.detail == {"command": "publish", "timeout": 1.0}
    failures = _failures(history)
    assert failures[0] == ("info", "ProcessTimeout")
    assert set(failures[1:]) == {("fail", "ProcessTimeout")}
    assert_all_gone(children, history)


def test_garbage_on_stdout_is_a_protocol_violation_naming_the_line(
    nats_server: NatsServer,
    nats_link_factory: LinkFactory,
    nats_server_factory: Callable[..., NatsServer],
) -> None:
    children, history, exc = _recorded(
        "garbage:2", nats_server, nats_link_factory, nats_server_factory
    )
    assert isinstance(exc, ProcessProtocolError)
    [violation] = [e for e in history.client_events() if e.kind == "protocol_violation"]
    assert violation.detail["line"] == "hello world, this is not the protocol"
    assert "not a JSON line" in violation.detail["reason"]
    assert_all_gone(children, history)


def test_an_unknown_message_type_is_a_protocol_violation(
    nats_server: NatsServer,
    nats_link_factory: LinkFactory,
    nats_server_factory: Callable[..., NatsServer],
) -> None:
    children, history, exc = _recorded(
        "unknown:2", nats_server, nats_link_factory, nats_server_factory
    )
    assert isinstance(exc, ProcessProtocolError)
    [violation] = [e for e in history.client_events() if e.kind == "protocol_violation"]
    assert "unknown message type 'bogus'" in violation.detail["reason"]
    assert_all_gone(children, history)


def test_a_child_that_exits_on_start_fails_the_start_a_verdict_not_a_hang(
    nats_server: NatsServer,
    nats_link_factory: LinkFactory,
    nats_server_factory: Callable[..., NatsServer],
) -> None:
    children = Children("exit-on-start")
    result = run(PUBLISHES, children, nats_link_factory, nats_server, nats_server_factory)
    assert result.valid is False
    [start] = [op for op in result.history.ops() if op.f == "start" and op.type != "invoke"]
    assert start.type == "fail"
    assert start.error is not None
    assert start.error.type == "ProcessExited"
    assert "code 2" in start.error.message
    assert_all_gone(children)


@pytest.mark.parametrize(
    ("mode", "error", "words", "bound"),
    [
        ("exit-now", ProcessExited, "exited with code 4 before its hello", 15.0),
        ("silent", ProcessTimeout, "said no hello within 1 s", 1.0),
    ],
)
def test_a_child_without_a_hello_is_a_clear_error_when_the_service_is_made(
    mode: str, error: type[Exception], words: str, bound: float
) -> None:
    started = time.monotonic()
    with pytest.raises(error, match=words) as caught:
        ProcessService([sys.executable, str(CHILD)], env={"MISBEHAVE": mode}, hello_timeout_s=bound)
    assert time.monotonic() - started < bound + 5
    if mode == "exit-now":
        assert "exiting before hello" in str(caught.value)  # its stderr
    assert not _our_children()  # the probe was reaped


def test_a_scenario_needing_what_the_child_lacks_is_skipped_and_starts_nothing(
    nats_server: NatsServer,
    nats_link_factory: LinkFactory,
    nats_server_factory: Callable[..., NatsServer],
) -> None:
    made: list[ProcessService] = []

    def factory() -> ProcessService:
        made.append(natspy_client())
        return made[-1]

    with pytest.raises(CapabilityMissing, match="lacks batch"):
        run(BATCHED, factory, nats_link_factory, nats_server, nats_server_factory)
    assert made[0].proc is None  # only the (cached, reaped) probe ever ran
