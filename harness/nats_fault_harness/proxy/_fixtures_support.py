"""What the pytest plugin needs to offer a ``toxiproxy`` fixture; no pytest imports here.

The intended wiring (the plugin owns it)::

    @pytest.fixture(scope="session")
    def _toxiproxy_session(pytestconfig):
        with open_toxiproxy(url=<--toxiproxy-url or ini>, seed=<--toxiproxy-seed>) as ep:
            yield ep

    @pytest.fixture
    def toxiproxy(_toxiproxy_session):
        ensure_running(_toxiproxy_session)        # a new child if the last one died
        reset_toxiproxy(_toxiproxy_session.url)   # cheap per-test reset
        return _toxiproxy_session

The session resource is either an external server (``TOXIPROXY_URL`` or an explicit URL,
for instance a real ``toxiproxy-server``) or a :class:`ProxyProcess` child. The per-test
reset deletes every proxy, so each test starts from an empty server with its ports free.
If the child died (a test killed it, the OOM killer, a crash), :func:`ensure_running`
starts a new one with the same arguments, updates the endpoint in place (new port, new
``extensions``) and warns with :class:`ProxyRestartedWarning` (exit code and stderr tail),
so one dead proxy does not fail every later test in setup. An external server is never
restarted. HTTP here is synchronous (``urllib``) because fixtures are synchronous.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from nats_fault_harness._version import __version__
from nats_fault_harness.errors import ProxyError
from nats_fault_harness.proxy._process import ProxyProcess

if TYPE_CHECKING:
    from nats_fault_harness.proxy._client import ToxiproxyClient

__all__ = [
    "TOXIPROXY_URL_ENV",
    "ProxyRestartedWarning",
    "ToxiproxyEndpoint",
    "ensure_running",
    "open_toxiproxy",
    "reset_toxiproxy",
    "sync_request",
]

TOXIPROXY_URL_ENV = "TOXIPROXY_URL"
_UA = f"nats-fault-harness/{__version__}"


@dataclasses.dataclass
class ToxiproxyEndpoint:
    """A Toxiproxy-compatible API the tests can use.

    Attributes:
        url: the API base URL.
        host: the API host; ``port`` its port.
        external: True if the server was not started by the harness (``TOXIPROXY_URL``).
        extensions: the ``/extensions`` report, or ``None`` for a real Toxiproxy.
        process: the child process when the harness started it.
    """

    url: str
    host: str
    port: int
    external: bool
    extensions: dict[str, Any] | None = None
    process: ProxyProcess | None = None

    @property
    def seed(self) -> int | None:
        """The server's seed (``None`` for a server without the seed extension)."""
        return None if self.extensions is None else self.extensions.get("seed")

    def client(self) -> ToxiproxyClient:
        """A new async client for this API (close it, or use ``async with``)."""
        from nats_fault_harness.proxy._client import ToxiproxyClient

        return ToxiproxyClient(self.url)

    def has(self, extension: str) -> bool:
        """True if the server offers ``extension`` (``"events"``, ``"seed"``...)."""
        return self.extensions is not None and extension in self.extensions.get("extensions", ())


def sync_request(
    url: str, method: str, path: str, body: object = None, timeout: float = 10.0
) -> tuple[int, Any]:
    """One blocking API call; returns ``(status, decoded JSON or None)``.

    Raises:
        ProxyError: the server could not be reached.
    """
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url.rstrip("/") + path,
        data=data,
        method=method,
        headers={"User-Agent": _UA, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        raise ProxyError(f"cannot reach the proxy API at {url}: {exc}") from exc
    try:
        return status, json.loads(raw) if raw.strip() else None
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def _describe(url: str, timeout: float) -> dict[str, Any] | None:
    """Wait until ``url`` answers ``/version``; return its ``/extensions`` (or None)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, _ = sync_request(url, "GET", "/version", timeout=2.0)
            break
        except ProxyError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)
    if status != 200:
        raise ProxyError(f"{url}/version answered {status}: not a Toxiproxy API", status=status)
    status, data = sync_request(url, "GET", "/extensions")
    return data if status == 200 and isinstance(data, dict) else None


@contextlib.contextmanager
def open_toxiproxy(
    *, url: str | None = None, seed: int | None = None, start_timeout: float = 15.0
) -> Iterator[ToxiproxyEndpoint]:
    """A Toxiproxy API for a test session: external if a URL is given, else a child process.

    Args:
        url: an external server; defaults to ``$TOXIPROXY_URL``; empty means start one.
        seed: ``--seed`` for a started server (ignored for external ones).
        start_timeout: seconds allowed for the child to become ready (or the external
            server to answer).

    Raises:
        ProxyError: the external server does not answer like Toxiproxy.
        ProxyStartError: the child could not be started.
    """
    url = url or os.environ.get(TOXIPROXY_URL_ENV) or None
    if url is not None:
        if "://" not in url:
            url = "http://" + url
        parsed = urllib.parse.urlsplit(url)
        extensions = _describe(url, start_timeout)
        yield ToxiproxyEndpoint(
            url.rstrip("/"),
            parsed.hostname or "",
            parsed.port or 80,
            external=True,
            extensions=extensions,
        )
        return
    process = ProxyProcess(seed=seed, start_timeout=start_timeout).start()
    try:
        extensions = _describe(process.url, start_timeout)
        yield ToxiproxyEndpoint(
            process.url,
            process.host,
            process.port,
            external=False,
            extensions=extensions,
            process=process,
        )
    finally:
        process.stop()


class ProxyRestartedWarning(UserWarning):
    """The session's proxy process had died and a new one was started."""


def ensure_running(endpoint: ToxiproxyEndpoint) -> bool:
    """Start a new proxy child if the endpoint's one died; update ``endpoint`` in place.

    Args:
        endpoint: the session's endpoint (external ones are left alone).

    Returns:
        True if a new child was started.

    Raises:
        ProxyStartError: the new child could not be started.
    """
    process = endpoint.process
    if endpoint.external or process is None or process.is_running:
        return False
    old_url, tail = endpoint.url, process.stderr_tail(10)
    code = process.stop()  # reap it and drop its registry record
    process.start()  # same arguments (seed, config) and start timeout, a new port
    endpoint.url, endpoint.host, endpoint.port = process.url, process.host, process.port
    endpoint.extensions = _describe(process.url, process.start_timeout)
    detail = "; stderr: " + " | ".join(tail) if tail else ""
    warnings.warn(
        ProxyRestartedWarning(
            f"the harness's proxy at {old_url} had exited (code {code}); started a new one "
            f"at {process.url}{detail}"
        ),
        stacklevel=2,
    )
    return True


def reset_toxiproxy(url: str, *, delete_proxies: bool = True) -> None:
    """The cheap per-test reset: delete every proxy (or only ``POST /reset``).

    Raises:
        ProxyError: the server could not be reached or refused.
    """
    if not delete_proxies:
        status, body = sync_request(url, "POST", "/reset")
        if status >= 300:
            raise ProxyError(f"POST /reset failed: {body}", status=status)
        return
    status, proxies = sync_request(url, "GET", "/proxies")
    if status != 200 or not isinstance(proxies, dict):
        raise ProxyError(f"GET /proxies failed: {proxies}", status=status)
    for name in proxies:
        status, body = sync_request(url, "DELETE", f"/proxies/{urllib.parse.quote(name)}")
        if status not in (204, 404):
            raise ProxyError(f"DELETE /proxies/{name} failed: {body}", status=status)
