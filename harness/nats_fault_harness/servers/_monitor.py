"""The monitoring HTTP endpoints of a nats-server (``/varz``, ``/healthz``, ...)."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from nats_fault_harness.errors import MonitoringError

__all__ = ["get_json", "quick_status"]


def get_json(
    base_url: str,
    path: str,
    params: dict[str, object] | None = None,
    *,
    timeout: float = 2.0,
    name: str = "",
    accept_status: tuple[int, ...] = (200,),
) -> tuple[int, dict[str, Any]]:
    """GET ``base_url + path`` and decode the JSON body.

    Returns:
        ``(status, body)``. A status outside ``accept_status`` raises.

    Raises:
        MonitoringError: connection failure, timeout, bad JSON or unexpected status.
    """
    query = ""
    if params:
        query = "?" + urllib.parse.urlencode(
            {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in params.items()}
        )
    url = f"{base_url}{path}{query}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (OSError, TimeoutError) as exc:
        raise MonitoringError(f"GET {url} failed: {exc}", name=name) from exc
    try:
        body = json.loads(raw) if raw else {}
    except ValueError as exc:
        raise MonitoringError(f"GET {url}: invalid JSON ({raw[:200]!r})", name=name) from exc
    if status not in accept_status:
        raise MonitoringError(f"GET {url}: HTTP {status}: {body}", name=name)
    return status, body


def quick_status(host: str, port: int, path: str, *, timeout: float = 1.0) -> int:
    """The HTTP status of ``GET path``, over a bare socket; ``0`` if it cannot be read.

    Used only for the readiness probe, where urllib's set-up cost is a measurable share of
    a server's start-up time.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            head = sock.recv(64)
    except OSError:
        return 0
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
