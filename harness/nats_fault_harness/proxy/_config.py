"""Config files of the stand-alone server: a JSON array of proxies, like a ``/populate`` body.

Unlike ``toxiproxy-server``, which logs a bad ``-config`` file and serves without it, a bad
file stops the server with an error naming the file and the entry.
"""

from __future__ import annotations

from pathlib import Path

from nats_fault_harness.errors import ConfigError
from nats_fault_harness.proxy._apierror import ApiError
from nats_fault_harness.proxy._collection import ProxyInput, parse_populate
from nats_fault_harness.proxy._json import loads_first

__all__ = ["load_config"]


def load_config(path: str | Path) -> list[ProxyInput]:
    """Read a config file: a JSON array of proxies, like a ``/populate`` body.

    Raises:
        ConfigError: the file cannot be read, is not JSON, or an entry is invalid; the
            message names the file and the entry (numbered from 1).
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"config file {path}: cannot read: {exc}", where=str(path)) from exc
    try:  # the API's decoder: same text clean-up (U+FFFD for bad UTF-8), same limits
        data = loads_first(raw)
    except ApiError as exc:
        detail = exc.message.removeprefix("bad request body: ")
        raise ConfigError(f"config file {path}: not JSON: {detail}", where=str(path)) from exc
    if not isinstance(data, list):
        raise ConfigError(
            f"config file {path}: must hold a JSON array of proxies", where=str(path), value=data
        )
    specs: list[ProxyInput] = []
    for number, entry in enumerate(data, start=1):
        try:
            specs.extend(parse_populate([entry]))
        except ApiError as exc:
            detail = exc.message.replace(" at proxy 1", "")
            raise ConfigError(
                f"config file {path}: entry {number}: {detail}",
                where=f"{path}[{number}]",
                value=entry,
            ) from exc
    return specs
