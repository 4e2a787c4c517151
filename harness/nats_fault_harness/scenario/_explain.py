"""Turn pydantic validation errors into ``path:line: field: expected ..., got ...`` issues."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from nats_fault_harness.scenario._errors import Issue
from nats_fault_harness.scenario._yaml import Lines, field_name

__all__ = ["describe", "explain", "field_name", "locate"]

_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "tuple_type": "a list",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "invalid-json-value": "plain YAML data (string, number, bool, null, list or mapping)",
}
_PATTERNS = {
    r"^[a-z0-9][a-z0-9.-]*$": "a claim id (lower case letters, digits, '.' and '-')",
    r"^[^\s.*>]+(\.[^\s.*>]+)*$": "a NATS subject without wildcards (tokens joined by '.')",
    r"^(link|member:\d+|node:\d+)$": "'link', 'member:<i>' or 'node:<i>'",
    r"^(server|node:\d+|(leader|follower):[A-Za-z0-9_-]{1,64})$": (
        "'server', 'node:<i>', 'leader:<stream>' or 'follower:<stream>'"
    ),
    r"^(node:\d+|(leader|follower):[A-Za-z0-9_-]{1,64})$": (
        "'node:<i>', 'leader:<stream>' or 'follower:<stream>'"
    ),
    r"^([A-Z+-]+\*?|\*)$": (
        "a protocol verb in capitals (PUB, MSG, PONG...), a family (PUB*, MSG*) or '*'"
    ),
}
_NUMERIC = {"int_type", "int_parsing", "float_type", "float_parsing"}
_OWN_MESSAGE = {
    "unknown_key",
    "cross_field",
    "trigger_kind",
    "instant_fault",
    "frames_counter",
    "partition_nodes",
}


def _show(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(bound: Any) -> str:
    """A bound as written in the docs: ``3600.0`` -> ``3600``, ``0.01`` stays."""
    if isinstance(bound, float) and bound.is_integer():
        return str(int(bound))
    return str(bound)


def _bound(word: str, bound: Any) -> str:
    # Integer fields carry integer bounds, float fields float bounds (see _base).
    noun = "number" if isinstance(bound, float) else "integer"
    if bound == 0 and word != "at most":
        return f"a {word} {noun}"
    op = {"non-negative": ">=", "positive": ">", "at most": "<="}[word]
    limit = " (the limit)" if word == "at most" else ""
    return f"{'an' if noun == 'integer' else 'a'} {noun} {op} {_number(bound)}{limit}"


def _exponent_text(value: Any) -> bool:
    """``1e40``: PyYAML (YAML 1.1) reads a number with an exponent but no '.' as text."""
    if not isinstance(value, str) or "e" not in value.lower() or len(value) > 40:
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def describe(err: ErrorDetails) -> str:
    """What was expected and what was found, for one pydantic error."""
    kind, ctx = err["type"], err.get("ctx", {})
    if kind in _OWN_MESSAGE:
        return err["msg"]
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_not_found":
        return "required field is missing"
    if kind == "union_tag_invalid":
        return f"expected one of {ctx['expected_tags']}, got {ctx['tag']!r}"
    if kind == "literal_error":
        expected = f"one of {ctx['expected']}"
    elif kind == "greater_than_equal":
        expected = _bound("non-negative", ctx["ge"])
    elif kind == "greater_than":
        expected = _bound("positive", ctx["gt"])
    elif kind == "less_than_equal":
        expected = _bound("at most", ctx["le"])
    elif kind == "too_short":
        expected = f"at least {ctx['min_length']} item(s)"
    elif kind == "too_long":
        return (
            f"expected at most {ctx['max_length']} item(s) (the limit), got {ctx['actual_length']}"
        )
    elif kind == "string_pattern_mismatch":
        pattern = str(ctx["pattern"])
        expected = _PATTERNS.get(pattern, f"a string matching {pattern}")
    elif kind == "value_error":
        return err["msg"].removeprefix("Value error, ")
    elif kind in _EXPECTED:
        expected = _EXPECTED[kind]
        if kind in _NUMERIC and _exponent_text(err["input"]):
            return (
                f"expected {expected}, got the string {_show(err['input'])} (YAML reads a "
                "number with an exponent as text unless it has a '.', as in 1.0e+3)"
            )
    else:
        return f"{err['msg'][:1].lower()}{err['msg'][1:]}, got {_show(err['input'])}"
    return f"expected {expected}, got {_show(err['input'])}"


def locate(
    loc: Sequence[str | int], data: Any, lines: Lines, *, missing: bool = False
) -> tuple[str, int]:
    """Follow ``loc`` through ``data`` and return the field path text and its line.

    Elements that are not in the data (union tags, validator names) are skipped; with
    ``missing``, a last key absent from the data is kept (it names the absent field) and
    located at its parent.
    """
    path: list[str | int] = []
    shown: list[str | int] = []  # an integer mapping key prints as a key, not an index
    node = data
    for i, part in enumerate(loc):
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        in_map = isinstance(node, Mapping) and part in node
        if in_list or in_map:
            shown.append(str(part) if in_map else part)
            node = node[part]
        elif missing and isinstance(part, str) and i == len(loc) - 1 and isinstance(node, Mapping):
            node = None
            shown.append(part)
        else:
            continue
        path.append(part)
    line = 0
    for n in range(len(path), -1, -1):
        if tuple(path[:n]) in lines:
            line = lines[tuple(path[:n])]
            break
    return field_name(shown), line


def explain(exc: ValidationError, data: Any, lines: Lines, path: str) -> list[Issue]:
    """One :class:`Issue` per error in ``exc`` (deduplicated), located in the file."""
    issues: dict[Issue, None] = {}  # ordered and deduplicated in linear time
    errors = exc.errors(include_url=False)
    inner = {e["loc"][:n] for e in errors for n in range(len(e["loc"]))}
    for err in errors:
        if err["type"] == "too_short" and err["loc"] in inner:
            continue  # pydantic adds it when an item failed; the item's error says why
        loc: tuple[str | int, ...] = tuple(err["loc"])
        ctx = err.get("ctx", {})
        if err["type"] == "unknown_key":
            loc += (ctx["key"],)
        elif err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc += (ctx["discriminator"].strip("'"),)
        elif "loc" in ctx:
            loc += tuple(ctx["loc"])
        missing = err["type"] in ("missing", "union_tag_not_found")
        field, line = locate(loc, data, lines, missing=missing)
        issues.setdefault(Issue(path, line, field, describe(err)))
    return list(issues)
