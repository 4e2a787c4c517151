"""JSON the way Go's ``encoding/json`` reads and writes it, for byte-compatible answers.

Reading: only the first JSON value of a body counts (trailing bytes are ignored, like
``json.Decoder.Decode``); an empty body is ``EOF``; struct fields match keys
case-insensitively, unknown keys are ignored, ``null`` leaves a field unchanged, and a wrong
type fails with Go's wording. Writing: compact, UTF-8, ``<``, ``>``, ``&``, U+2028 and
U+2029 escaped, float32 values in their shortest form (``1``, ``0.5``).

Text that is not clean UTF-8 is *replaced at the edge*, as Go's decoder does for Toxiproxy:
invalid UTF-8 bytes and lone surrogate escapes (``"\\udcff"``) become U+FFFD, in keys and
values, so every string the server stores can be written back as UTF-8 (a name Python
could not encode used to make every listing answer 500). ``NUL``, control characters and
BOMs inside strings are valid text and are kept, as in Go. Writing replaces any lone
surrogate the same way, so no answer can fail on one.

Inputs that cost more than they look get a 400 naming the problem, never a 500: ``NaN``
and ``Infinity`` (not JSON; Python's decoder would take them), numbers with more digits
than Python converts to ``int`` (they are kept as :class:`JsonFloat`, so an integer field
refuses them with Go's ``cannot unmarshal number ...`` and an unknown key ignores them, as
in Go), and arrays/objects nested deeper than the decoder's recursion limit (about 900
levels; Go allows 10 000: ``bad request body: exceeded max depth``). Decoding is linear in
the body size; bodies are capped at 16 MiB by the HTTP layer.
"""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Mapping
from typing import Any

from nats_fault_harness.proxy._apierror import bad_request_body
from nats_fault_harness.toxics._attrs import describe_json_value

__all__ = [
    "JsonFloat",
    "clean_text",
    "decode_struct",
    "dumps",
    "float32",
    "loads_first",
    "replace_surrogates",
]


class JsonFloat(float):
    """A JSON number written with a fraction or exponent; keeps its source text."""

    text: str

    def __new__(cls, text: str) -> JsonFloat:
        value = super().__new__(cls, text)
        value.text = text
        return value


class _NotJson(ValueError):
    """A token Python's decoder accepts and Go's refuses (``NaN``, ``Infinity``)."""


def _parse_int(text: str) -> int | JsonFloat:
    try:
        return int(text)
    except ValueError:  # more digits than Python converts: no Go integer holds it either
        return JsonFloat(text)


def _parse_constant(text: str) -> object:
    if text.startswith("-"):
        raise _NotJson("invalid character 'I' in numeric literal")
    raise _NotJson(f"invalid character {text[0]!r} looking for beginning of value")


_DECODER = json.JSONDecoder(
    parse_float=JsonFloat, parse_int=_parse_int, parse_constant=_parse_constant
)
_WS = " \t\n\r"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def clean_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (Go's decoder does this)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _LONE_SURROGATE.sub("\ufffd", text)
    return text


def replace_surrogates(value: object) -> object:
    """``value`` (decoded JSON) with lone surrogates in keys and strings replaced by U+FFFD.

    Iterative, so a deeply nested value cannot exhaust the stack; lists and dicts are
    changed in place.
    """
    if isinstance(value, str):
        return clean_text(value)
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = clean_text(item)
                elif isinstance(item, list | dict):
                    stack.append(item)
        elif isinstance(node, dict):
            items = list(node.items())
            node.clear()
            for key, item in items:
                if isinstance(item, str):
                    item = clean_text(item)
                elif isinstance(item, list | dict):
                    stack.append(item)
                node[clean_text(key)] = item
    return value


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
    except _NotJson as exc:
        raise bad_request_body(str(exc)) from None
    except RecursionError:
        raise bad_request_body("exceeded max depth: arrays and objects nested too deeply") from None
    except json.JSONDecodeError as exc:
        if exc.pos >= len(stripped.rstrip(_WS)):
            raise bad_request_body("unexpected EOF") from exc
        char = stripped[exc.pos]
        raise bad_request_body(
            f"invalid character {char!r} looking for beginning of value"
            if exc.pos == 0
            else f"invalid character {char!r} at offset {exc.pos + 1}: {exc.msg}"
        ) from None
    if _SURROGATE_ESCAPE.search(stripped):
        value = replace_surrogates(value)
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
    """``value`` rounded to float32, as the shortest number that prints like Go's encoder.

    Raises:
        OverflowError: ``value`` is beyond float32's range (Go's decoder refuses it).
    """
    if not math.isfinite(value):
        raise OverflowError(f"{value} is not a finite float32")
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
    """Encode like Go's ``json.Marshal`` (compact, HTML-safe escapes).

    A lone surrogate (which UTF-8 cannot encode) is written as U+FFFD, as Go writes invalid
    UTF-8, so one bad string can never make an answer fail.
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return clean_text(text.translate(_ESCAPES)).encode("utf-8")
