"""Forcing connections through a link while a fault is applied and healed, and judging them.

* :class:`Prober`: raw TCP connections through proxies, several in flight at all times.
  Each sends ``CONNECT {"name": "probe-N"}`` and ``PING`` at once (nats-server reads them
  whenever they come), then reads until ``PONG``, EOF, RST or a 5 s safety deadline, and
  records what it saw: ``INFO`` or not, ``PONG`` or not.
* :class:`EventTap`: a thread reading the proxy's event feed (long polls, nothing dropped).
* :class:`SnapshotPoller`: a thread reading ``GET /proxies`` in a loop: each answer is one
  consistent view of every proxy's toxic list.
* :func:`judge`: for each probe connection, what it saw and what the proxy says it was
  given when it was wired (the ``toxic_rolled`` events that follow its ``connection_opened``
  in the same step); counts wholes, nones and halves both ways. A probe is matched to its
  proxy connection by its ``CONNECT`` name, or by its client port when the connection was
  closed before the proxy read the ``CONNECT``.

A connection is a *half* when the proxy wired it with some but not all of the fault's
toxics on its link, and, seen from the ends, when it got ``INFO`` but no ``PONG`` (its
``CONNECT``/``PING`` were dropped while the server's bytes passed) or got nothing while the
server received its bytes (``bytes_up_sent > 0`` in its ``connection_closed``). A
connection that was live when the fault was applied (a later ``toxic_rolled``) saw the
fault arrive mid-stream; its ends are not judged, its wiring still is.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from nats_fault_harness.proxy import SyncToxiproxyClient

PROBE_DEADLINE = 5.0  # only a safety net: a drop heal closes every connection it held


@dataclasses.dataclass
class Seen:
    """What one probe connection saw from its end."""

    name: str
    target: int
    port: int = 0
    info: bool = False
    pong: bool = False
    end: str = ""


class Prober:
    """Probe connections through ``addrs`` (round robin) until stopped.

    An asyncio loop in a thread starts a probe every ``interval`` seconds, with up to
    ``concurrency`` in flight, so probes held by the fault do not stop new ones from coming.
    """

    def __init__(
        self, addrs: list[tuple[str, int]], *, interval: float = 0.0005, concurrency: int = 200
    ) -> None:
        self.addrs = addrs
        self.interval = interval
        self.concurrency = concurrency
        self.seen: list[Seen] = []
        self.started = 0
        self.errors: list[BaseException] = []
        self._ids = itertools.count(1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(PROBE_DEADLINE + 5)

    def wait_started(self, more: int, *, timeout: float = 10.0) -> None:
        """Wait until ``more`` further connections were started (paces the fault loop)."""
        goal = self.started + more
        deadline = time.monotonic() + timeout
        while self.started < goal:
            if time.monotonic() > deadline or self.errors:
                raise AssertionError(
                    f"probes stalled: {self.started} started, wanted {goal} ({self.errors})"
                )
            time.sleep(0.0002)

    async def _main(self) -> None:
        slots = asyncio.Semaphore(self.concurrency)
        tasks: set[asyncio.Task[None]] = set()
        while not self._stop.is_set() and not self.errors:
            await slots.acquire()
            task = asyncio.create_task(self._probe())
            tasks.add(task)
            task.add_done_callback(lambda t: (tasks.discard(t), slots.release()))
            await asyncio.sleep(self.interval)  # the load's pace, held probes or not
        if tasks:
            await asyncio.wait(tasks)

    async def _probe(self) -> None:
        n = next(self._ids)
        seen = Seen(f"probe-{n}", n % len(self.addrs))
        try:
            reader, writer = await asyncio.open_connection(*self.addrs[seen.target])
        except OSError as exc:
            self.errors.append(exc)
            return
        self.started += 1
        seen.port = int(writer.get_extra_info("sockname")[1])
        buf = b""
        try:
            writer.write(b'CONNECT {"verbose":false,"name":"%s"}\r\nPING\r\n' % seen.name.encode())
            async with asyncio.timeout(PROBE_DEADLINE):
                while b"PONG\r\n" not in buf:
                    chunk = await reader.read(65536)
                    if not chunk:
                        seen.end = "eof"
                        break
                    buf += chunk
                else:
                    seen.end = "pong"
        except TimeoutError:
            seen.end = "timeout"
        except ConnectionResetError:
            seen.end = "reset"
        finally:
            writer.close()
        seen.info = buf.startswith(b"INFO ")
        seen.pong = b"PONG\r\n" in buf
        self.seen.append(seen)


class EventTap:
    """Every event of the proxy from now on, read by a thread (the ring must not drop any)."""

    def __init__(self, url: str) -> None:
        self._api = SyncToxiproxyClient(url, timeout=30)
        self._mark = self._api.events(2**62, limit=0).next
        self.events: list[dict[str, Any]] = []
        self.dropped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._pull(wait_ms=100)

    def _pull(self, wait_ms: int | None = None) -> None:
        page = self._api.events(self._mark, wait_ms=wait_ms)
        self.dropped += page.dropped
        self.events.extend(page.events)
        self._mark = page.next

    def close(self) -> list[dict[str, Any]]:
        """Stop, read what is left, return every event."""
        self._stop.set()
        self._thread.join(10)
        self._pull()
        self._api.close()
        return self.events


class SnapshotPoller:
    """``GET /proxies`` in a loop; keeps, per answer, the toxics it listed that ``keep``."""

    def __init__(self, url: str, keep: Callable[[str, str], bool]) -> None:
        self._api = SyncToxiproxyClient(url)
        self._keep = keep
        self.snapshots: list[frozenset[tuple[str, str]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SnapshotPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self._api.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            listed = {
                (proxy, toxic.name)
                for proxy, info in self._api.proxies().items()
                for toxic in info.toxics
                if self._keep(proxy, toxic.name)
            }
            self.snapshots.append(frozenset(listed))

    def partial(self, whole: set[tuple[str, str]]) -> int:
        """Snapshots that listed some of ``whole`` but not all."""
        return sum(1 for s in self.snapshots if s and s != whole)


@dataclasses.dataclass
class Verdict:
    """Counts over every probe connection of a run."""

    connections: int = 0
    wired_whole: int = 0
    wired_none: int = 0
    wired_half: int = 0  # the proxy's witness
    live_at_apply: int = 0  # the fault arrived while the connection was live
    seen: Counter[str] = dataclasses.field(default_factory=Counter)  # none / whole / half
    half_seen_ends: int = 0  # halves seen from the ends, on connections not live at apply
    disagree: list[str] = dataclasses.field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.connections} connections: wired whole {self.wired_whole}, none "
            f"{self.wired_none}, HALF {self.wired_half}; live at apply {self.live_at_apply}; "
            f"seen from the ends {dict(self.seen)}, halves seen {self.half_seen_ends}"
        )


def judge(
    events: Iterable[dict[str, Any]],
    seen: Iterable[Seen],
    fault_toxics: Mapping[str, set[str]],
    proxies: list[str],
) -> Verdict:
    """Line up each probe with its proxy connection and judge it (see the module docstring).

    Args:
        events: the proxy's events over the run.
        seen: the probes' observations.
        fault_toxics: proxy -> names of the fault's toxics there (every apply uses them).
        proxies: the proxies probe targets 0, 1, ... went through.
    """
    events = sorted(events, key=lambda e: e["seq"])
    wired: dict[tuple[str, int], set[str]] = {}
    later: set[tuple[str, int]] = set()
    names: dict[str, tuple[str, int]] = {}
    by_port: dict[tuple[str, int], list[tuple[str, int]]] = {}
    closed: dict[tuple[str, int], dict[str, Any]] = {}
    wiring: tuple[str, int] | None = None
    for event in events:
        key = (event.get("proxy", ""), event.get("connection", 0))
        kind = event["type"]
        if kind == "connection_opened":
            port = int(str(event["client"]).rsplit(":", 1)[1])
            by_port.setdefault((key[0], port), []).append(key)
            wiring = key
            wired[key] = set()
            continue
        if kind == "toxic_rolled" and key == wiring:
            if event["active"]:
                wired[key].add(event["toxic"])
            continue
        wiring = None
        if kind == "toxic_rolled" and event["toxic"] in fault_toxics.get(key[0], ()):
            later.add(key)
        elif kind == "connection_identified":
            names[event["connect_name"]] = key
        elif kind == "connection_closed":
            closed[key] = event
    # A probe is its proxy connection by CONNECT name; one closed before its CONNECT was
    # read (a heal) by its client port, the n-th probe from a port being the n-th
    # connection from it.
    probes_by_port: dict[tuple[str, int], list[Seen]] = {}
    for probe in sorted(seen, key=lambda p: int(p.name.split("-")[1])):
        probes_by_port.setdefault((proxies[probe.target], probe.port), []).append(probe)
    for where, probes in probes_by_port.items():
        conns = by_port.get(where, [])
        if len(conns) == len(probes):
            for probe, conn in zip(probes, conns, strict=True):
                names.setdefault(probe.name, conn)
    verdict = Verdict()
    for probe in seen:
        key = names.get(probe.name)
        if key is None or key[0] != proxies[probe.target]:
            verdict.disagree.append(f"{probe.name}: no identified proxy connection ({probe})")
            continue
        verdict.connections += 1
        fault = fault_toxics[key[0]]
        got = wired[key] & fault
        if not got:
            verdict.wired_none += 1
        elif got == fault:
            verdict.wired_whole += 1
        else:
            verdict.wired_half += 1
        up_sent = int(closed.get(key, {}).get("bytes_up_sent", -1))
        if probe.info and probe.pong:
            ends = "none"
        elif (probe.info and not probe.pong) or (not probe.info and up_sent > 0):
            ends = "half"
        else:
            ends = "whole"
        verdict.seen[ends] += 1
        if key in later:
            verdict.live_at_apply += 1
            continue
        if ends == "half":
            verdict.half_seen_ends += 1
        expected = "none" if not got else "whole" if got == fault else "half"
        if ends != expected:
            verdict.disagree.append(
                f"{probe.name} {key}: wired with {sorted(got)} ({expected}) but saw {ends} "
                f"(info={probe.info} pong={probe.pong} end={probe.end} up_sent={up_sent})"
            )
    return verdict


def all_closed(events: list[dict[str, Any]], proxies: Iterable[str]) -> bool:
    """Every connection opened on ``proxies`` has closed (its bytes are known)."""
    wanted = set(proxies)
    opened = {(e["proxy"], e["connection"]) for e in events if e["type"] == "connection_opened"}
    shut = {(e["proxy"], e["connection"]) for e in events if e["type"] == "connection_closed"}
    return {k for k in opened if k[0] in wanted} <= shut
