"""Shared helpers for the integration tests."""

from __future__ import annotations

import pytest

from nats_fault_harness.history import History


class CallbackLog:
    """One nats-py client's callbacks, journaled through :meth:`History.nats_callbacks`.

    ``names()`` lists event kinds in order, errors as ``"error:<Type>"``; ``at(kind)`` is
    the ``time.monotonic()`` of the first event of that kind.
    """

    def __init__(self) -> None:
        self.history = History()

    def options(self) -> dict[str, object]:
        """Keyword arguments for ``nats.connect``."""
        return dict(self.history.nats_callbacks("client"))

    def names(self) -> list[str]:
        return [
            f"error:{e.detail['error']['type']}" if e.kind == "error" else e.kind
            for e in self.history.client_events()
        ]

    @property
    def seen(self) -> list[tuple[float, str]]:
        return [(e.t, e.kind) for e in self.history.client_events()]

    def at(self, kind: str) -> float:
        t = next(e.t for e in self.history.client_events() if e.kind == kind)
        return self.history.t0 + t


@pytest.fixture
def callback_log() -> type[CallbackLog]:
    """The :class:`CallbackLog` class: call it once per client."""
    return CallbackLog
