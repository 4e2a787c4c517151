"""nats-server configuration as frozen data, rendered to the server's config syntax.

Rendering is a pure function (``render_config``) so it is unit-tested without a server.
Durations accept seconds (``1.5``) or a nats-server duration string (``"1500ms"``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from nats_fault_harness.errors import ConfigError

__all__ = ["Auth", "ClusterSpec", "ServerConfig", "render_config"]

Duration = float | str


@dataclass(frozen=True)
class Auth:
    """Client authentication: a user and password, or a token (exactly one of the two)."""

    user: str | None = None
    password: str | None = None
    token: str | None = None

    def __post_init__(self) -> None:
        has_user = self.user is not None or self.password is not None
        if has_user and self.token is not None:
            raise ConfigError("Auth: give user/password or token, not both", where="auth")
        if has_user and not (self.user and self.password):
            raise ConfigError("Auth: user and password must both be non-empty", where="auth")
        if not has_user and not self.token:
            raise ConfigError("Auth: give user/password or a non-empty token", where="auth")


@dataclass(frozen=True)
class ClusterSpec:
    """The cluster block of one node.

    Attributes:
        name: the cluster name (all nodes must agree).
        port: route listen port; ``-1`` lets the server choose.
        routes: route URLs to solicit (``nats://127.0.0.1:P``).
        advertise: ``host:port`` gossiped to other nodes instead of the listen address
            (used to make every route pass a proxy).
        pool_size: route pool size; ``None`` keeps the server default (3).
    """

    name: str = "harness"
    port: int = -1
    routes: tuple[str, ...] = ()
    advertise: str | None = None
    pool_size: int | None = None


@dataclass(frozen=True)
class ServerConfig:
    """Options of one nats-server, in the server's own names.

    Attributes:
        jetstream: enable JetStream (a store dir per server is created by the harness).
        auth: require client authentication.
        ping_interval: server-to-client PING interval (server default 2m).
        ping_max: outstanding PINGs before the server closes a client.
        write_deadline: how long the server blocks writing to a slow client.
        max_payload: largest message payload in bytes.
        max_pending: per-client outbound buffer in bytes before "slow consumer".
        lame_duck_duration: lame-duck length (the server enforces a minimum of 30s).
        lame_duck_grace_period: delay before lame duck starts evicting clients.
        debug: log with ``debug: true``; trace: log protocol traces.
        extra: further top-level keys, rendered verbatim as JSON values.
    """

    jetstream: bool = False
    auth: Auth | None = None
    ping_interval: Duration | None = None
    ping_max: int | None = None
    write_deadline: Duration | None = None
    max_payload: int | None = None
    max_pending: int | None = None
    lame_duck_duration: Duration = "30s"
    lame_duck_grace_period: Duration = "1s"
    debug: bool = False
    trace: bool = False
    extra: Mapping[str, object] = field(default_factory=dict)

    def with_(self, **changes: object) -> ServerConfig:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


def _duration(name: str, value: Duration) -> str:
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be seconds or a duration string", where=name, value=value)
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ConfigError(
                f"{name} must be >= 0 seconds, got {value!r}", where=name, value=value
            )
        return json.dumps(f"{round(value * 1000)}ms")
    if not value or not value.strip():
        raise ConfigError(f"{name} must not be empty", where=name, value=value)
    return json.dumps(value)


def _positive_int(name: str, value: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(
            f"{name} must be a positive integer, got {value!r}", where=name, value=value
        )
    return str(value)


def render_config(
    config: ServerConfig,
    *,
    name: str,
    host: str = "127.0.0.1",
    port: int = -1,
    http_port: int = -1,
    store_dir: Path | None = None,
    cluster: ClusterSpec | None = None,
) -> str:
    """Render a nats-server config file.

    Args:
        config: the server options.
        name: ``server_name``.
        host: client and monitoring bind address.
        port: client port, ``-1`` for a server-chosen port.
        http_port: monitoring port, ``-1`` for a server-chosen port.
        store_dir: JetStream store directory (required with ``jetstream``).
        cluster: the cluster block, if clustered.
    """
    lines = [
        f"server_name: {json.dumps(name)}",
        f"host: {json.dumps(host)}",
        f"port: {port}",
        f"http: {json.dumps(f'{host}:{http_port}')}",
    ]
    if config.ping_interval is not None:
        lines.append(f"ping_interval: {_duration('ping_interval', config.ping_interval)}")
    if config.ping_max is not None:
        lines.append(f"ping_max: {_positive_int('ping_max', config.ping_max)}")
    if config.write_deadline is not None:
        lines.append(f"write_deadline: {_duration('write_deadline', config.write_deadline)}")
    if config.max_payload is not None:
        lines.append(f"max_payload: {_positive_int('max_payload', config.max_payload)}")
    if config.max_pending is not None:
        lines.append(f"max_pending: {_positive_int('max_pending', config.max_pending)}")
    lines.append(
        f"lame_duck_duration: {_duration('lame_duck_duration', config.lame_duck_duration)}"
    )
    lines.append(
        "lame_duck_grace_period: "
        f"{_duration('lame_duck_grace_period', config.lame_duck_grace_period)}"
    )
    if config.debug:
        lines.append("debug: true")
    if config.trace:
        lines.append("trace: true")
    if config.auth is not None:
        lines.extend(_render_auth(config.auth))
    if config.jetstream:
        if store_dir is None:
            raise ConfigError("jetstream needs a store_dir", where="store_dir")
        lines.append(f"jetstream {{ store_dir: {json.dumps(str(store_dir))} }}")
    if cluster is not None:
        lines.extend(_render_cluster(cluster, host))
    for key, value in config.extra.items():
        if not key.replace("_", "").isalnum():
            raise ConfigError(
                f"extra key {key!r} is not a plain config key", where="extra", value=key
            )
        lines.append(f"{key}: {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def _render_auth(auth: Auth) -> list[str]:
    if auth.token is not None:
        return [f"authorization {{ token: {json.dumps(auth.token)} }}"]
    return [
        f"authorization {{ user: {json.dumps(auth.user)}, password: {json.dumps(auth.password)} }}"
    ]


def _render_cluster(cluster: ClusterSpec, host: str) -> Sequence[str]:
    if not cluster.name or not cluster.name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(
            f"cluster name {cluster.name!r} must be alphanumeric",
            where="cluster.name",
            value=cluster.name,
        )
    body = [f"name: {json.dumps(cluster.name)}", f"listen: {json.dumps(f'{host}:{cluster.port}')}"]
    if cluster.advertise:
        body.append(f"advertise: {json.dumps(cluster.advertise)}")
    if cluster.pool_size is not None:
        body.append(f"pool_size: {cluster.pool_size}")
    if cluster.routes:
        body.append(f"routes: {json.dumps(list(cluster.routes))}")
    return ["cluster {", *(f"  {line}" for line in body), "}"]
