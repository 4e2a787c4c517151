"""The shape every fault shares: apply, heal, journal, and three ways to use it.

A :class:`Fault` is applied when entered (``with``, ``async with``) or called (``fault()``
for an open-ended fault healed later with ``fault.heal()``). Healing is idempotent and
happens even when the test body raises. Both ends are journaled to the
:class:`~nats_fault_harness.history.History` with their times, so checkers and the report can line
the
fault up with what the client did.

Actions run synchronously (a signal, one loopback HTTP call: about a millisecond); the
async forms run them in a worker thread so the event loop under test keeps running.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from nats_fault_harness.errors import ProxyNotFound
from nats_fault_harness.history import History

if TYPE_CHECKING:
    from nats_fault_harness.faults._toxics import ToxicSet
    from nats_fault_harness.proxy import SyncToxiproxyClient

__all__ = ["Fault", "FaultLog", "delete_proxies"]


def delete_proxies(api: SyncToxiproxyClient, names: Iterable[str]) -> None:
    """Delete the proxies ``names``, ignoring the ones already gone."""
    for name in names:
        try:
            api.delete_proxy(name)
        except ProxyNotFound:
            pass


class FaultLog:
    """Where faults journal themselves, and the registry of faults not yet healed."""

    def __init__(self, history: History | None = None) -> None:
        self.history = history if history is not None else History()
        self._active: list[Fault] = []
        self._lock = threading.Lock()

    def active(self) -> list[Fault]:
        """Faults applied and not healed, oldest first."""
        with self._lock:
            return list(self._active)

    def _opened(self, fault: Fault) -> None:
        with self._lock:
            self._active.append(fault)

    def _closed(self, fault: Fault) -> None:
        with self._lock:
            if fault in self._active:
                self._active.remove(fault)

    def heal_all(self) -> list[BaseException]:
        """Heal every active fault, newest first; return the errors instead of raising."""
        errors: list[BaseException] = []
        for fault in reversed(self.active()):
            try:
                fault.heal()
            except Exception as exc:  # keep healing the others
                errors.append(exc)
        return errors


class Fault:
    """One fault on one target.

    Args:
        log: where to journal and register.
        kind: the fault's name in the history (``"latency"``, ``"kill"``...).
        target: what it hits (``"link:orders"``, ``"server:n1"``).
        params: its parameters, as journaled.
        apply: the action that injects it.
        heal: the action that removes it (``None`` for an instant fault).
        links: the proxies whose connections the fault acts on (for the evidence rule).
        toxics: the toxics that ``apply`` adds and ``heal`` removes, if that is all the
            fault does (a pool or a partition combines them into one batch).

    Attributes:
        step: the scenario fault step it realises, if any (journaled with it).
    """

    def __init__(
        self,
        log: FaultLog,
        kind: str,
        target: str,
        params: dict[str, Any],
        apply: Callable[[], None],
        heal: Callable[[], None] | None,
        *,
        links: tuple[str, ...] = (),
        toxics: ToxicSet | None = None,
    ) -> None:
        self.log = log
        self.kind = kind
        self.target = target
        self.params = params
        self.links = links
        self.toxics = toxics
        self.step: int | None = None
        self._apply = apply
        self._heal = heal
        self._fault_id: int | None = None
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        """True from apply until a heal succeeded (a failed heal leaves it active)."""
        return self._fault_id is not None

    @property
    def instant(self) -> bool:
        """Whether the fault acts once and has nothing to heal."""
        return self._heal is None

    def __call__(self) -> Fault:
        """Apply now and leave it in place until :meth:`heal` (an open-ended fault).

        The window is recorded as open *before* the action runs, so an effect the client
        sees while the action is still returning lies inside it; an action that raises
        closes the window as ``apply_failed`` and re-raises.
        """
        with self._lock:
            if self._fault_id is not None:
                raise RuntimeError(f"{self!r} is already applied")
            history = self.log.history
            fault_id = history.fault_started(
                self.kind,
                self.target,
                self.params,
                status="applying",
                step=self.step,
                links=self.links,
            )
            try:
                self._apply()
            except BaseException as exc:
                history.fault_ended(fault_id, status="apply_failed", error=_text(exc))
                raise
            if self._heal is None:  # instant: the window closes at once
                history.fault_ended(fault_id, status="healed")
            else:
                history.fault_status(fault_id, "applied")
                self._fault_id = fault_id
                self.log._opened(self)
        return self

    apply = __call__

    def heal(self) -> None:
        """Remove the fault (a no-op if it is not applied).

        The window closes once the heal action returned. A heal that raises leaves the
        fault active, in the log (so :meth:`FaultLog.heal_all` retries it) and recorded
        as ``heal_failed`` in the history, and re-raises.
        """
        with self._lock:
            if self._fault_id is None:
                return
            assert self._heal is not None
            try:
                self._heal()
            except BaseException as exc:
                self.log.history.fault_status(self._fault_id, "heal_failed", error=_text(exc))
                raise
            fault_id, self._fault_id = self._fault_id, None
            self.log.history.fault_ended(fault_id, status="healed")
            self.log._closed(self)

    def __enter__(self) -> Fault:
        return self()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.heal()

    async def __aenter__(self) -> Fault:
        return await asyncio.to_thread(self)

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.shield(asyncio.to_thread(self.heal))

    async def aheal(self) -> None:
        """Async :meth:`heal`."""
        await asyncio.to_thread(self.heal)

    def __repr__(self) -> str:
        state = "active" if self.active else "idle"
        return f"<Fault {self.kind} on {self.target} {self.params} {state}>"


def _text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
