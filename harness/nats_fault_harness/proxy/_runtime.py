"""What every proxy of one server shares: its task supervisor, event feed and seed."""

from __future__ import annotations

import dataclasses

from nats_fault_harness.proxy._events import EventLog
from nats_fault_harness.proxy._rng import SeedSource
from nats_fault_harness.proxy._tasks import TaskSet

__all__ = ["Runtime"]


@dataclasses.dataclass
class Runtime:
    """Server-wide services handed to proxies, connections and links.

    Attributes:
        tasks: owns every background task (dials, running toxics).
        events: the event feed.
        seeds: the seed every random draw is derived from.
        dial_timeout: seconds allowed for an upstream connect.
        close_grace: seconds a graceful close may take to flush before it is aborted.
    """

    tasks: TaskSet = dataclasses.field(default_factory=TaskSet)
    events: EventLog = dataclasses.field(default_factory=EventLog)
    seeds: SeedSource = dataclasses.field(default_factory=SeedSource)
    dial_timeout: float = 10.0
    close_grace: float = 10.0
