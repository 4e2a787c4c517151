"""The monitoring HTTP endpoints of a nats-server (``/varz``, ``/healthz``, ...)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from harness.errors import MonitoringError

__all__ = ["get_json"]


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
