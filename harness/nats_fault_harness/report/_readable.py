"""Values as a person reads them in tooltips and labels: no Python reprs.

``[1, 2]`` -> ``1, 2``; ``{"type": "TimeoutError", "message": "x"}`` -> ``TimeoutError: x``;
``True`` -> ``yes``; ``0.30000000000000004`` -> ``0.3``; a mapping -> ``k v, k v``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["fault_label", "readable"]

# The parameters worth showing on a fault bar itself, in this order (the tooltip has all).
_ON_BAR = ("ms", "latency", "rate", "kb_per_s", "members", "how", "connect_name", "verb", "action")
_UNITS = {"ms": " ms", "latency": " ms", "rate": " KB/s", "kb_per_s": " KB/s"}


def readable(value: Any, depth: int = 0) -> str:
    """``value`` as plain text (see the module docstring)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, Mapping):
        if "type" in value and "message" in value:  # an ErrorInfo as data
            return f"{value['type']}: {value['message']}"
        if depth > 2:
            return "…"
        return ", ".join(f"{k} {readable(v, depth + 1)}" for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(readable(v, depth + 1) for v in value)
    return str(value)


def fault_label(kind: str, params: Mapping[str, Any]) -> str:
    """``latency 200 ms``, ``pool_break members 1 how down``: the kind and its key params."""
    parts = [kind]
    for key in _ON_BAR:
        if key in params and params[key] not in (None, "", [], ()):
            unit = _UNITS.get(key)
            shown = readable(params[key])
            parts.append(f"{shown}{unit}" if unit else f"{key} {shown}")
    if "status" in params:
        parts.append(str(params["status"]).replace("_", " ").upper())
    return " ".join(parts)
