"""Configuration models (pydantic) for the reference service and broker.

One frozen model, :class:`NATSConfig`, holds everything the remediation document names
(servers, pool size, batch size and flush interval, ``max_batch_retries``, retry base
delay, flush timeout, ``enable_message_validation``, manual ack, health-check interval)
plus :class:`ConnectionOptions`, which are handed unchanged to ``nats.connect()`` so a
test can ask for fast fault detection. Unknown keys are rejected (a typo in a scenario
file must not silently fall back to a default) and every error names its field, because
pydantic's ``ValidationError`` reports the location of each problem.

Defaults follow the document: 3 batch retries at 100 ms base delay (100/200/400 ms),
validation on, manual ack off.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["ConnectionOptions", "NATSConfig"]

_SCHEMES = {"nats", "tls", "ws", "wss"}


def _check_url(url: str) -> str:
    parts = urlsplit(url if "://" in url else f"nats://{url}")
    if parts.scheme not in _SCHEMES or not parts.hostname:
        raise ValueError(f"{url!r} is not a NATS server URL (nats://host:port)")
    try:
        _ = parts.port
    except ValueError as exc:
        raise ValueError(f"{url!r} has an invalid port") from exc
    return url


class ConnectionOptions(BaseModel):
    """Options passed to ``nats.connect()`` for every connection the service opens.

    Defaults are nats-py's, except ``flush_timeout`` (nats-py: None = a publish over
    ``pending_size`` may block forever) and ``max_reconnect_attempts`` 0, which nats-py
    treats as *unlimited* and is therefore rejected: say -1 if unlimited is meant.

    Attributes:
        connect_timeout: seconds per handshake step (TCP, INFO, PONG).
        reconnect_time_wait: seconds between attempts on the same server.
        max_reconnect_attempts: attempts per server; -1 = unlimited. Also bounds the
            initial connect, which nats-py retries too (``N`` means ``N + 1`` tries).
        allow_reconnect: reconnect after a connection is lost.
        ping_interval: seconds between client PINGs (stale detection).
        max_outstanding_pings: unanswered PINGs before the connection counts as stale.
        pending_size: bytes buffered while reconnecting before publish raises.
        flush_timeout: seconds a publish may wait when the buffer is over pending_size.
        dont_randomize: try servers in the given order.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    connect_timeout: float = Field(default=2.0, gt=0)
    reconnect_time_wait: float = Field(default=2.0, ge=0)
    max_reconnect_attempts: int = Field(default=60, ge=-1)
    allow_reconnect: bool = True
    ping_interval: float = Field(default=120.0, gt=0)
    max_outstanding_pings: int = Field(default=2, ge=1)
    pending_size: int = Field(default=2 * 1024 * 1024, ge=0)
    flush_timeout: float = Field(default=5.0, gt=0)
    dont_randomize: bool = False

    @field_validator("max_reconnect_attempts")
    @classmethod
    def _zero_is_not_none(cls, value: int) -> int:
        if value == 0:
            raise ValueError("0 means unlimited in nats-py; use -1 for unlimited or N >= 1")
        return value

    def connect_kwargs(self) -> dict[str, Any]:
        """Return the keyword arguments for ``nats.connect()``."""
        return self.model_dump()


class NATSConfig(BaseModel):
    """Everything the service and broker need, validated before any connection is made.

    Attributes:
        name: service name; connections are named ``<name>-main`` and ``<name>-pool-<i>``
            (visible in the server's ``/connz`` and usable by a proxy to target members).
        servers: server URLs for the main connection (and pool members by default).
        connection: options passed through to ``nats.connect()``.
        pool_size: number of pooled publish connections; 0 disables the pool.
        pool_member_servers: optional server list per pool member (length ``pool_size``);
            by default member ``i`` uses ``servers`` rotated by ``i``.
        pool_init_timeout: seconds one connection attempt may take, retries included
            (the main connection, then all pool members concurrently).
        batch_size: messages that trigger a batch flush.
        flush_interval: seconds after which a non-empty batch is flushed anyway.
        max_batch_retries: retries of a failed group before it goes to the failed queue.
        retry_base_delay: seconds before the first retry; retry ``k`` waits
            ``retry_base_delay * 2**k``.
        flush_timeout: seconds to wait for the server's confirmation of one group.
        max_buffered_messages: cap on messages held (batch + in flight + failed queue);
            beyond it ``publish_batched`` raises instead of dropping anything.
        message_id_header: send each batched message's id as ``Nats-Msg-Id``, so
            JetStream de-duplicates retried copies and consumers can.
        request_timeout: default timeout of ``request()`` in seconds.
        health_check_interval: seconds between ping/pong health checks.
        health_check_timeout: seconds a health-check PONG may take.
        enable_message_validation: broker validates outgoing and incoming messages.
        manual_ack: JetStream subscriptions ack after the handler succeeds and nak when
            it raises; off by default (then a message is acked after success and left to
            time out, ``ack_wait``, when the handler raises).
        ack_timeout: seconds to wait for the server to confirm a manual ack.
        close_timeout: seconds ``close()`` may spend on the final flush and on closing.
        jetstream_publish_timeout: seconds one JetStream publish attempt waits for its
            PubAck.
        jetstream_retry_deadline: seconds after the first attempt during which a
            JetStream publish is retried (with its message id: every ambiguous failure;
            without: only failures that stored nothing). Long enough for a stream
            leader election (about 6 s measured) and a meta leader after a heal.
        jetstream_retry_delay: pause before the first JetStream retry; doubled per
            retry, at most 1 s.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="nats-service", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    servers: tuple[str, ...] = Field(default=("nats://127.0.0.1:4222",), min_length=1)
    connection: ConnectionOptions = Field(default_factory=ConnectionOptions)
    pool_size: int = Field(default=3, ge=0, le=64)
    pool_member_servers: tuple[tuple[str, ...], ...] | None = None
    pool_init_timeout: float = Field(default=10.0, gt=0)
    batch_size: int = Field(default=100, ge=1)
    flush_interval: float = Field(default=0.1, gt=0)
    max_batch_retries: int = Field(default=3, ge=0, le=16)
    retry_base_delay: float = Field(default=0.1, gt=0)
    flush_timeout: float = Field(default=1.0, gt=0)
    max_buffered_messages: int = Field(default=10_000, ge=1)
    message_id_header: bool = True
    request_timeout: float = Field(default=0.5, gt=0)
    health_check_interval: float = Field(default=30.0, gt=0)
    health_check_timeout: float = Field(default=2.0, gt=0)
    enable_message_validation: bool = True
    manual_ack: bool = False
    ack_timeout: float = Field(default=1.0, gt=0)
    close_timeout: float = Field(default=5.0, gt=0)
    jetstream_publish_timeout: float = Field(default=1.0, gt=0)
    jetstream_retry_deadline: float = Field(default=30.0, ge=0)
    jetstream_retry_delay: float = Field(default=0.1, gt=0)

    @field_validator("servers")
    @classmethod
    def _servers_are_urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_url(url) for url in value)

    @field_validator("pool_member_servers")
    @classmethod
    def _member_servers_are_urls(
        cls, value: tuple[tuple[str, ...], ...] | None
    ) -> tuple[tuple[str, ...], ...] | None:
        if value is None:
            return None
        for urls in value:
            if not urls:
                raise ValueError("every pool member needs at least one server URL")
        return tuple(tuple(_check_url(url) for url in urls) for urls in value)

    @model_validator(mode="after")
    def _consistent(self) -> NATSConfig:
        members = self.pool_member_servers
        if members is not None and len(members) != self.pool_size:
            raise ValueError(
                f"pool_member_servers has {len(members)} entries but pool_size is {self.pool_size}"
            )
        if self.batch_size > self.max_buffered_messages:
            raise ValueError("batch_size must not exceed max_buffered_messages")
        if self.health_check_timeout > self.health_check_interval:
            raise ValueError("health_check_timeout must not exceed health_check_interval")
        return self

    def retry_delays(self) -> tuple[float, ...]:
        """Return the nominal delay before each retry: ``base * 2**k`` for k < max."""
        return tuple(self.retry_base_delay * 2**k for k in range(self.max_batch_retries))

    def member_servers(self, index: int) -> tuple[str, ...]:
        """Return the server list pool member ``index`` connects to."""
        if self.pool_member_servers is not None:
            return self.pool_member_servers[index]
        shift = index % len(self.servers)
        return self.servers[shift:] + self.servers[:shift]
