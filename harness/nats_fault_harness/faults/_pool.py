"""A connection pool's view of one server: N addressable members that fail one by one.

Each member is its own proxy in front of the same server, so member ``i`` of a client's
pool is addressed by index (give the client ``pool.urls[i]`` for member ``i``), and failing
members ``k..n`` leaves the others untouched - a deterministic partial failure, not a
probability. A shared proxy (``pool.shared``) serves targeting by NATS ``CONNECT`` name
instead, when every member dials the same address.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from nats_fault_harness.errors import ConfigError
from nats_fault_harness.faults._base import Fault, FaultLog
from nats_fault_harness.faults._link import Link
from nats_fault_harness.faults._toxics import ToxicSet
from nats_fault_harness.history import History

__all__ = ["Pool"]

BreakMode = Literal["down", "blackhole", "drop", "reset"]


class Pool:
    """N member links and one shared link to the same upstream.

    Args:
        name: the pool's name in the history.
        members: one link per member, in index order.
        shared: a link every member may dial, for ``CONNECT``-name targeting.
        log: where faults journal themselves.
    """

    def __init__(self, name: str, members: Sequence[Link], shared: Link, log: FaultLog) -> None:
        self.name = name
        self.members = list(members)
        self.shared = shared
        self.log = log
        self.target = f"pool:{name}"

    @property
    def urls(self) -> list[str]:
        """``nats://`` URL of each member, by index."""
        return [m.url for m in self.members]

    def __len__(self) -> int:
        return len(self.members)

    def __getitem__(self, index: int) -> Link:
        return self.members[index]

    def break_members(
        self, indices: Iterable[int], how: BreakMode = "down", *, buffer_bytes: int = 0
    ) -> Fault:
        """Fail the members at ``indices`` together; the others stay healthy.

        ``how``: ``"down"`` (connections refused and live ones closed), ``"blackhole"``
        (silence; the proxy stops reading at once, see
        :meth:`~nats_fault_harness.faults.Link.blackhole` for ``buffer_bytes``), ``"drop"``
        (bytes discarded), ``"reset"`` (live connections reset; an instant fault). Healing
        restores every broken member.
        """
        _buffer_needs_blackhole(how, buffer_bytes)
        chosen = sorted(set(indices))
        bad = [i for i in chosen if not 0 <= i < len(self.members)]
        if bad or not chosen:
            raise ConfigError(
                f"pool {self.name!r} has members 0..{len(self.members) - 1}; "
                f"cannot break {bad or chosen}",
                where="indices",
                value=chosen,
            )
        if how not in ("down", "blackhole", "drop", "reset"):
            raise ConfigError(
                f"how must be down, blackhole, drop or reset, got {how!r}", where="how", value=how
            )
        parts = [
            self._member_fault(self._quiet(self.members[i]), how, buffer_bytes) for i in chosen
        ]
        params: dict[str, object] = {"members": chosen, "how": how}
        if buffer_bytes:
            params["buffer_bytes"] = buffer_bytes
        return self._together("pool_break", params, parts, how)

    @staticmethod
    def _quiet(link: Link) -> Link:
        """``link`` journaling to a throw-away log: the pool fault is what the history shows."""
        quiet = FaultLog(History())
        return Link(link.api, link.proxy, link.listen, quiet, extensions=link.extensions)

    def _together(
        self, kind: str, params: dict[str, object], parts: list[Fault], how: BreakMode
    ) -> Fault:
        """One pool fault applying (all or none of) ``parts`` and healing them all.

        Parts made of toxics only (``blackhole``, ``drop``) are combined into one
        :class:`~nats_fault_harness.faults._toxics.ToxicSet`: one batch on the harness's
        proxy, so a connection to any member sees the whole pool fault or none of it;
        otherwise the toxics go one at a time, every member's downstream toxic first on
        and last off, members in index order. ``down`` is one proxy update per member,
        in index order; ``reset`` closes each member's connections in index order.
        """
        toxic_sets = [part.toxics for part in parts]
        links = tuple(name for part in parts for name in part.links)
        if toxic_sets and all(t is not None for t in toxic_sets):
            sets = [t for t in toxic_sets if t is not None]
            combined = ToxicSet(
                sets[0].api,
                [op for t in sets for op in t.toxics],
                batch=all(t.batch for t in sets),
            )
            return Fault(
                self.log,
                kind,
                self.target,
                params,
                combined.apply,
                combined.remove,
                links=links,
                toxics=combined,
            )

        def apply() -> None:
            done: list[Fault] = []
            try:
                for part in parts:
                    done.append(part())
            except BaseException:
                for part in done:
                    part.heal()
                raise

        def heal() -> None:
            errors: list[Exception] = []
            for part in parts:  # heal every part; a part that failed stays active for a retry
                try:
                    part.heal()
                except Exception as exc:
                    errors.append(exc)
            if errors:
                raise errors[0]

        heal_ = None if how == "reset" else heal
        return Fault(self.log, kind, self.target, params, apply, heal_, links=links)

    @staticmethod
    def _member_fault(link: Link, how: BreakMode, buffer_bytes: int) -> Fault:
        if how == "down":
            return link.down()
        if how == "blackhole":
            return link.blackhole(buffer_bytes=buffer_bytes)
        if how == "drop":
            return link.drop()
        return link.reset()

    def break_by_name(
        self, connect_name: str, how: BreakMode = "blackhole", *, buffer_bytes: int = 0
    ) -> Fault:
        """Fail the connections whose ``CONNECT`` name matches, on every link of the pool.

        The name is matched on :attr:`shared` and on each member link, so the client is
        hit wherever it dials; the other clients on those links are untouched.
        ``buffer_bytes`` is :meth:`~nats_fault_harness.faults.Link.blackhole`'s.
        """
        _buffer_needs_blackhole(how, buffer_bytes)
        if how == "down":
            raise ConfigError(
                "down cannot target one client; use blackhole, drop or reset",
                where="how",
                value=how,
            )
        parts: list[Fault] = []
        for link in (self._quiet(self.shared), *(self._quiet(m) for m in self.members)):
            if how == "blackhole":
                parts.append(link.blackhole(connect_name=connect_name, buffer_bytes=buffer_bytes))
            elif how == "drop":
                parts.append(link.drop(connect_name=connect_name))
            else:
                parts.append(link.reset(connect_name=connect_name))
        params: dict[str, object] = {"connect_name": connect_name, "how": how}
        if buffer_bytes:
            params["buffer_bytes"] = buffer_bytes
        return self._together("pool_break_by_name", params, parts, how)


def _buffer_needs_blackhole(how: str, buffer_bytes: int) -> None:
    if buffer_bytes and how != "blackhole":
        raise ConfigError(
            f"buffer_bytes applies to how='blackhole' only, not {how!r}",
            where="buffer_bytes",
            value=buffer_bytes,
        )
