"""JSON the way Go's ``encoding/json`` reads and writes it, for byte-compatible answers.

Reading: only the first JSON value of a body counts (trailing bytes are ignored, like
``json.Decoder.Decode``); an empty body is ``EOF``; struct fields match keys
case-insensitively, unknown keys are ignored, ``null`` leaves a field unchanged, and a wrong
type fails with Go's wording. Writing: compact, UTF-8, ``<``, ``>``, ``&``, U+2028 and
U+2029 escaped, float32 values in their shortest form (``1``, ``0.5``).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import Any

from harness.proxy._apierror import bad_request_body
from harness.toxics._attrs import describe_json_value

__all__ = ["JsonFloat", "decode_struct", "dumps", "float32", "loads_first"]


class JsonFloat(float):
    """A JSON number written with a fraction or exponent; keeps its source text."""

    text: str

    def __new__(cls, text: str) -> JsonFloat:
        value = super().__new__(cls, text)
        value.text = text
        return value


_DECODER = json.JSONDecoder(parse_float=JsonFloat)
_WS = " \t\n\r"


def loads_first(raw: bytes) -> object:
    """Decode the first JSON value of a request body.

    Raises:
        ApiError: 400 ``bad request body: ...`` (``EOF`` for an empty body).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "replace")
    stripped = text.lstrip(_WS)
    if not stripped:
        raise bad_request_body("EOF")
    try:
        value, _ = _DECODER.raw_decode(stripped)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(stripped.rstrip(_WS)):
            raise bad_request_body("unexpected EOF") from exc
        char = stripped[exc.pos]
        raise bad_request_body(
            f"invalid character {char!r} looking for beginning of value"
            if exc.pos == 0
            else f"invalid character {char!r} at offset {exc.pos + 1}: {exc.msg}"
        ) from exc
    return value


def _go_kind_ok(go_type: str, value: object) -> bool:
    if go_type == "string":
        return isinstance(value, str)
    if go_type == "bool":
        return isinstance(value, bool)
    if go_type == "float32":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True  # "any"


def decode_struct(value: object, go_struct: str, fields: Mapping[str, str]) -> dict[str, Any]:
    """Pick ``fields`` (name -> Go type) out of a decoded JSON object, Go style.

    Args:
        value: the decoded body (``null`` counts as an empty object).
        go_struct: the Go type name for error messages (``"Proxy"``).
        fields: field name -> Go type (``string``, ``bool``, ``float32``, ``any``).

    Returns:
        The fields present (and not null), under their canonical names.

    Raises:
        ApiError: 400 when the body is not an object or a field has the wrong type.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        kind = describe_json_value(value).split(" ")[0]
        raise bad_request_body(
            f"json: cannot unmarshal {kind} into Go value of type toxiproxy.{go_struct}"
        )
    lowered = {name.lower(): name for name in fields}
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = lowered.get(key.lower())
        if name is None or item is None:
            continue
        go_type = fields[name]
        if not _go_kind_ok(go_type, item):
            kind = describe_json_value(item)
            if go_type != "float32" or not kind.startswith("number"):
                kind = kind.split(" ")[0]
            raise bad_request_body(
                f"json: cannot unmarshal {kind} into Go struct field "
                f"{go_struct}.{name} of type {go_type}"
            )
        out[name] = item
    return out


def float32(value: float) -> int | float:
    """``value`` rounded to float32, as the shortest number that prints like Go's encoder."""
    exact = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(1, 10):
        candidate = float(f"{exact:.{digits}g}")
        if struct.unpack("f", struct.pack("f", candidate))[0] == exact:
            break
    else:  # pragma: no cover - 9 significant digits always round-trip a float32
        candidate = exact
    if candidate.is_integer() and abs(candidate) < 1e21:
        return int(candidate)
    return candidate


_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def dumps(value: object) -> bytes:
    """Encode like Go's ``json.Marshal`` (compact, HTML-safe escapes)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.translate(_ESCAPES).encode("utf-8")
