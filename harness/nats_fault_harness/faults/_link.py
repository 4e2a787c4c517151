"""Faults on a link: a server reached through one proxy of the fault proxy.

Every method returns a :class:`~nats_fault_harness.faults.Fault` that adds its toxic(s) when applied
and removes them when healed. ``stream`` is Toxiproxy's: ``"upstream"`` (client to server),
``"downstream"`` (server to client), or ``"both"`` (one toxic per direction).

``connect_name`` (a glob) limits a toxic to connections whose NATS ``CONNECT`` name matches;
it needs the harness's own proxy (a real Toxiproxy lacks the extension, and the fault
refuses rather than silently hitting every connection).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from nats_fault_harness._docs import doc_url
from nats_fault_harness.errors import ConfigError, UnsupportedFeature
from nats_fault_harness.faults._base import Fault, FaultLog
from nats_fault_harness.faults._toxics import ToxicCalls, ToxicOp, ToxicSet

__all__ = ["BLACKHOLE_MS", "MAX_BUFFER_BYTES", "Link", "ToxicAPI", "needs_extension"]

Stream = Literal["upstream", "downstream", "both"]
# Against a real Toxiproxy (no ``blackhole`` toxic) a latency this long holds every byte
# until healed; removing the toxic releases them.
BLACKHOLE_MS = 3_600_000
# The most a blackhole may let the harness's proxy read ahead (its per-direction ceiling).
MAX_BUFFER_BYTES = 8 * 1024 * 1024
_ids = itertools.count(1)


class ToxicAPI(ToxicCalls, Protocol):
    """The part of a synchronous Toxiproxy client that link faults need."""

    def update_proxy(
        self,
        name: str,
        *,
        listen: str | None = ...,
        upstream: str | None = ...,
        enabled: bool | None = ...,
    ) -> Any: ...

    def reset_connections(
        self,
        proxy: str,
        *,
        connect_name: str | None = ...,
        ids: Sequence[int] | None = ...,
        mode: str = ...,
    ) -> list[int]: ...


def _directions(stream: Stream) -> tuple[str, ...]:
    if stream == "both":
        return ("upstream", "downstream")
    if stream in ("upstream", "downstream"):
        return (stream,)
    raise ConfigError(
        f"stream must be 'upstream', 'downstream' or 'both', got {stream!r}",
        where="stream",
        value=stream,
    )


def needs_extension(api: object, what: str, detail: str, *extensions: str) -> UnsupportedFeature:
    """The error for a fault that needs extensions of the harness's own proxy.

    It names the extensions, the proxy API that lacks them and how to get them, because
    the usual cause is a test run pointed at a real Toxiproxy (``TOXIPROXY_URL``).
    """
    url = getattr(api, "url", None) or "this proxy"
    names = ", ".join(repr(e) for e in extensions)
    plural = "s" if len(extensions) > 1 else ""
    return UnsupportedFeature(
        f"{what} needs the harness's own proxy extension{plural} {names} ({detail}), which the "
        f"proxy at {url} does not offer (a real Toxiproxy has none). Use the harness's "
        "embedded proxy: in pytest leave TOXIPROXY_URL, --toxiproxy-url and the toxiproxy_url "
        "ini key unset; outside pytest run `nats-harness toxiproxy` and point your "
        f"SyncToxiproxyClient at its URL. See {doc_url('real-toxiproxy.md')}"
    )


def _non_negative(name: str, value: float) -> None:
    if isinstance(value, bool) or value < 0:
        raise ConfigError(f"{name} must be >= 0, got {value!r}", where=name, value=value)


class Link:
    """A proxy in front of one upstream, with the faults a test can put on it.

    Args:
        api: a synchronous Toxiproxy client.
        proxy: the proxy's name.
        listen: the proxy's bound ``host:port`` (what clients dial).
        log: where faults journal themselves.
        extensions: the proxy's extension names (empty for a real Toxiproxy).
        label: how the link is named in the history (defaults to the proxy name).
    """

    def __init__(
        self,
        api: ToxicAPI,
        proxy: str,
        listen: str,
        log: FaultLog,
        *,
        extensions: frozenset[str] = frozenset(),
        label: str | None = None,
    ) -> None:
        self.api = api
        self.proxy = proxy
        self.listen = listen
        self.log = log
        self.extensions = extensions
        self.target = f"link:{label or proxy}"

    @property
    def url(self) -> str:
        """``nats://host:port`` through the proxy."""
        return f"nats://{self.listen}"

    # ------------------------------------------------------------------ plumbing
    def toxic(
        self,
        kind: str,
        type: str,
        attributes: Mapping[str, Any],
        *,
        stream: Stream,
        toxicity: float = 1.0,
        connect_name: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Fault:
        """A fault made of one toxic per direction of ``stream`` (the general form).

        Its toxics are applied and healed together (see
        :mod:`nats_fault_harness.faults._toxics`): in one batch on the harness's proxy, so
        a connection arriving meanwhile sees the whole fault or none of it; one at a time
        otherwise, the downstream toxic first on and last off.
        """
        directions = _directions(stream)
        if connect_name is not None and "connect_name" not in self.extensions:
            raise needs_extension(
                self.api, "connect_name=", "per-connection targeting", "connect_name"
            )
        serial, attrs = next(_ids), dict(attributes)
        ops = [
            ToxicOp(self.proxy, f"{kind}_{serial}_{d}", type, d, attrs, toxicity, connect_name)
            for d in directions
        ]
        toxics = ToxicSet(self.api, ops, batch="batch" in self.extensions)
        journal = {"stream": stream, **(params or attributes)}
        if toxicity != 1.0:
            journal["toxicity"] = toxicity
        if connect_name is not None:
            journal["connect_name"] = connect_name
        if type == "nats":  # the evidence rule counts the frames these toxics acted on
            journal["toxics"] = [op.name for op in ops]
        return Fault(
            self.log,
            kind,
            self.target,
            journal,
            toxics.apply,
            toxics.remove,
            links=(self.proxy,),
            toxics=toxics,
        )

    # ------------------------------------------------------------------ faults
    def latency(
        self,
        ms: int,
        *,
        jitter: int = 0,
        stream: Stream = "downstream",
        connect_name: str | None = None,
    ) -> Fault:
        """Delay every chunk by ``ms`` (+- ``jitter``) milliseconds, without capping throughput."""
        _non_negative("ms", ms)
        _non_negative("jitter", jitter)
        return self.toxic(
            "latency",
            "latency",
            {"latency": ms, "jitter": jitter},
            stream=stream,
            connect_name=connect_name,
        )

    def bandwidth(
        self, kb_per_s: int, *, stream: Stream = "downstream", connect_name: str | None = None
    ) -> Fault:
        """Cap throughput at ``kb_per_s`` KB/s (KB = 1000 bytes)."""
        if isinstance(kb_per_s, bool) or kb_per_s < 1:
            raise ConfigError(
                f"kb_per_s must be >= 1, got {kb_per_s!r}", where="kb_per_s", value=kb_per_s
            )
        return self.toxic(
            "bandwidth", "bandwidth", {"rate": kb_per_s}, stream=stream, connect_name=connect_name
        )

    def blackhole(
        self,
        *,
        stream: Stream = "both",
        connect_name: str | None = None,
        buffer_bytes: int = 0,
    ) -> Fault:
        """Hold every byte, close nothing: the peer sees silence. Healing releases the bytes.

        With the harness's proxy (extension ``blackhole``) the proxy stops reading the
        sender's socket the moment the fault is applied, so the sender's writes block once
        the kernel's socket buffers are full, as on a network whose peer went away (a
        pulled cable). ``buffer_bytes`` lets the proxy read and hold up to that many bytes
        per connection direction first (at most 8 MiB: the proxy's own ceiling, and what
        it used to read ahead before this default), for a test that wants a buffering
        middlebox. The history records ``buffer_bytes`` with the fault.

        Against a real Toxiproxy the fault is a ``latency`` toxic of an hour, which
        Toxiproxy reads ahead of (up to its 1024-chunk channel); ``buffer_bytes`` then
        raises :class:`~nats_fault_harness.errors.UnsupportedFeature`.
        """
        if isinstance(buffer_bytes, bool) or not 0 <= buffer_bytes <= MAX_BUFFER_BYTES:
            raise ConfigError(
                f"buffer_bytes must be 0..{MAX_BUFFER_BYTES}, got {buffer_bytes!r}",
                where="buffer_bytes",
                value=buffer_bytes,
            )
        if "blackhole" not in self.extensions:
            if buffer_bytes:
                raise UnsupportedFeature(
                    "blackhole(buffer_bytes=) needs the harness's proxy (extension 'blackhole')"
                )
            return self.toxic(
                "blackhole",
                "latency",
                {"latency": BLACKHOLE_MS},
                stream=stream,
                connect_name=connect_name,
                params={},
            )
        return self.toxic(
            "blackhole",
            "blackhole",
            {"buffer_bytes": buffer_bytes},
            stream=stream,
            connect_name=connect_name,
        )

    def drop(self, *, stream: Stream = "both", connect_name: str | None = None) -> Fault:
        """Read and discard every byte. Healing closes the affected connections (their
        byte streams are corrupt), as Toxiproxy's ``timeout`` toxic does."""
        return self.toxic(
            "drop", "timeout", {"timeout": 0}, stream=stream, connect_name=connect_name, params={}
        )

    def reset(
        self,
        *,
        after_bytes: int | None = None,
        stream: Stream = "upstream",
        connect_name: str | None = None,
    ) -> Fault:
        """RST connections: every live one now (an instant fault), or with ``after_bytes``
        each connection once that many bytes passed in ``stream`` (active until healed)."""
        if after_bytes is not None:
            _non_negative("after_bytes", after_bytes)
            if "reset_after" not in self.extensions:
                raise needs_extension(
                    self.api, "reset(after_bytes=)", "the reset_after toxic", "reset_after"
                )
            return self.toxic(
                "reset",
                "reset_after",
                {"bytes": after_bytes},
                stream=stream,
                connect_name=connect_name,
                params={"after_bytes": after_bytes},
            )
        if "connection_reset" not in self.extensions:
            raise needs_extension(
                self.api,
                "reset()",
                "RST of live connections; reset_peer() works on any proxy",
                "connection_reset",
            )

        def apply() -> None:
            self.api.reset_connections(self.proxy, connect_name=connect_name, mode="rst")

        params = {} if connect_name is None else {"connect_name": connect_name}
        return Fault(self.log, "reset", self.target, params, apply, None, links=(self.proxy,))

    def reset_peer(
        self, *, after_ms: int = 0, stream: Stream = "downstream", connect_name: str | None = None
    ) -> Fault:
        """RST each connection on its next data (plus ``after_ms``), for as long as active."""
        _non_negative("after_ms", after_ms)
        return self.toxic(
            "reset_peer",
            "reset_peer",
            {"timeout": after_ms},
            stream=stream,
            connect_name=connect_name,
        )

    def down(self) -> Fault:
        """Disable the proxy: live connections close, new ones are refused. Heal re-enables.

        With the harness's proxy the link keeps its port while down (nothing listens, but
        no other socket can be given the port), so the heal cannot fail with ``address
        already in use``; a real Toxiproxy frees the port until the heal.
        """
        return Fault(
            self.log,
            "down",
            self.target,
            {},
            lambda: self._enable(False),
            lambda: self._enable(True),
            links=(self.proxy,),
        )

    def _enable(self, enabled: bool) -> None:
        self.api.update_proxy(self.proxy, enabled=enabled)

    def slow_close(self, delay_ms: int, *, stream: Stream = "downstream") -> Fault:
        """Delay the close of each connection by ``delay_ms``."""
        _non_negative("delay_ms", delay_ms)
        return self.toxic("slow_close", "slow_close", {"delay": delay_ms}, stream=stream)

    def slice(
        self,
        average_size: int,
        *,
        size_variation: int = 0,
        delay_us: int = 0,
        stream: Stream = "downstream",
    ) -> Fault:
        """Cut data into small slices (``delay_us`` microseconds apart)."""
        return self.toxic(
            "slice",
            "slicer",
            {"average_size": average_size, "size_variation": size_variation, "delay": delay_us},
            stream=stream,
        )

    def limit_data(self, bytes: int, *, stream: Stream = "downstream") -> Fault:
        """Close each connection once ``bytes`` bytes passed in the direction."""
        _non_negative("bytes", bytes)
        return self.toxic("limit_data", "limit_data", {"bytes": bytes}, stream=stream)

    def frames(
        self,
        verb: str,
        *,
        subject: str = ">",
        action: str = "drop",
        delay_ms: int = 0,
        nth: int | None = None,
        every: int | None = None,
        first: int | None = None,
        after: int | None = None,
        probability: float | None = None,
        stream: Stream = "upstream",
        connect_name: str | None = None,
        reply: str | None = None,
        header: str | None = None,
        header_value: str | None = None,
        min_bytes: int | None = None,
        max_bytes: int | None = None,
    ) -> Fault:
        """A NATS-protocol-aware fault on whole frames (the harness's ``nats`` toxic).

        ``verb`` (``"PUB"``, ``"MSG"``, ``"PONG"``..., a family: ``"PUB*"`` for ``PUB``
        and ``HPUB``, ``"MSG*"`` for ``MSG`` and ``HMSG``, or ``"*"``) and ``subject``
        (NATS wildcards) choose the frames; a publish with headers (``Nats-Msg-Id``) is an
        ``HPUB``, which ``"PUB"`` alone does not match. ``action`` is ``drop``, ``delay``
        (``delay_ms``), ``hold`` (until healed), ``duplicate`` or ``close``; at most one of ``nth``,
        ``every``, ``first``, ``after`` picks by count, ``probability`` by a seeded roll.
        Upstream frames are the client's (PUB, SUB, PING...), downstream the server's (MSG,
        PONG, INFO...).

        What identifies a message narrows the choice further: ``reply`` (a pattern on the
        reply subject; a JetStream delivery's is ``$JS.ACK.<stream>.<consumer>.<delivered>
        .<seq>...``, so ``reply="$JS.ACK.ORDERS.billing.1.>"`` is each message's first
        delivery to ``billing``), ``header`` (present, and equal to ``header_value`` if
        given), ``min_bytes`` / ``max_bytes`` (the payload, headers included). Each frame
        acted on is a ``toxic_fired`` event; the evidence rule counts them, and a frames
        fault that acted on none was never applied.
        """
        if "nats" not in self.extensions:
            raise needs_extension(self.api, "the frames fault", "the NATS-frame toxic", "nats")
        attrs: dict[str, Any] = {"verb": verb, "subject": subject, "action": action}
        if delay_ms:
            attrs["delay"] = delay_ms
        for key, value in (("nth", nth), ("every", every), ("first", first), ("after", after)):
            if value is not None:
                attrs[key] = value
        if probability is not None:
            attrs["probability"] = probability
        identity = (
            ("reply", reply),
            ("header", header),
            ("header_value", header_value),
            ("min_bytes", min_bytes),
            ("max_bytes", max_bytes),
        )
        attrs.update((key, value) for key, value in identity if value)
        return self.toxic(
            f"frames_{action}", "nats", attrs, stream=stream, connect_name=connect_name
        )

    def __repr__(self) -> str:
        return f"<Link {self.proxy} {self.listen}>"
