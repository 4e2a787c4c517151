"""Hostile scenario files: every input costs work bounded by its size, and every limit is a
``path:line: field: problem`` error at load, never a traceback or a failure at run time.

Each class is generated (hypothesis), not only its famous example: alias bombs of any shape,
nesting of any depth and style, integers of any length and base, scalars under any tag,
numbers above the bound of every numeric field of every model.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from nats_fault_harness.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    parse_claims,
    parse_scenario,
)
from nats_fault_harness.scenario._errors import MAX_SHOWN
from nats_fault_harness.scenario._yaml import (
    MAX_CHARS,
    MAX_DEPTH,
    MAX_INT_CHARS,
    MAX_NODES,
    load_yaml,
)

HEAD = "name: x\nclaims: [a.b]\ncheckers: [{name: accounting}]\n"  # 3 lines
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _error(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.yaml")
    return info.value


# ---------------------------------------------------------------------- aliases
@st.composite
def alias_bombs(draw: st.DrawFn) -> str:
    """A "billion laughs": each level a list of ``fan`` aliases of the level before."""
    fan = draw(st.integers(2, 12))
    levels = draw(st.integers(1, 12))
    where = draw(st.sampled_from(["top", "service", "description"]))
    lines = ["l0: &l0 [" + ", ".join(['"lol"'] * fan) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * fan) + "]")
    body = "\n".join(lines)
    if where == "top":
        return body + "\n"
    indented = "\n".join("  " + line for line in lines)
    return HEAD + f"{where}:\n{indented}\n"


@FAST
@given(alias_bombs())
def test_an_alias_bomb_of_any_shape_is_refused_before_it_expands(text: str) -> None:
    err = _error(text)
    assert "anchors are not supported" in str(err)
    assert err.line == text.splitlines().index(next(t for t in text.splitlines() if "&l0" in t)) + 1


@pytest.mark.parametrize(
    ("text", "line", "field", "found"),
    [
        (HEAD + "base: &b {at_s: 1}\n", 4, "base", "anchors are not supported, found &b"),
        (HEAD + "faults:\n  - *t\n", 5, "faults[0]", "aliases are not supported, found *t"),
        (HEAD + "faults:\n  - {fault: kill, <<: *t}\n", 5, "faults[0].<<", "found *t"),
    ],
)
def test_anchors_and_aliases_name_the_line_and_field(
    text: str, line: int, field: str, found: str
) -> None:
    (issue,) = _error(text).issues
    assert (issue.line, issue.field) == (line, field)
    assert found in issue.problem


# ---------------------------------------------------------------------- nesting
def _nested(depth: int, style: str) -> str:
    if style == "flow-list":
        return "[" * depth + "1" + "]" * depth
    if style == "flow-map":
        return "{k: " * depth + "1" + "}" * depth
    if style == "mixed":
        return (
            "".join("[" if i % 2 else "{k: " for i in range(depth))
            + "1"
            + "".join("]" if i % 2 else "}" for i in reversed(range(depth)))
        )
    # block style: one more indent per level
    return "\n" + "".join(
        "  " * (i + 1) + "- " + ("\n" if i < depth - 1 else "1\n") for i in range(depth)
    )


@FAST
@given(
    depth=st.integers(MAX_DEPTH + 1, 6000),
    style=st.sampled_from(["flow-list", "flow-map", "mixed", "block"]),
)
def test_nesting_deeper_than_the_limit_is_an_error_naming_the_field(depth: int, style: str) -> None:
    if style == "block":
        depth = min(depth, 300)  # block nesting costs indentation: the file limit bounds it
    err = _error(HEAD + "service:\n  deep: " + _nested(depth, style) + "\n")
    (issue,) = err.issues
    assert issue.problem == f"nested more than {MAX_DEPTH} levels deep, the limit"
    assert issue.field.startswith("service.deep")
    assert issue.line >= 5


@pytest.mark.parametrize("style", ["flow-list", "flow-map", "mixed"])
def test_nesting_up_to_the_limit_loads(style: str) -> None:
    data, _ = load_yaml("k: " + _nested(MAX_DEPTH - 1, style))
    assert isinstance(data, dict)


# ---------------------------------------------------------------------- integers
@st.composite
def long_integers(draw: st.DrawFn) -> str:
    digits = draw(st.integers(MAX_INT_CHARS + 1, 20_000))
    form = draw(st.sampled_from(["dec", "neg", "hex", "oct", "bin", "under", "sexagesimal"]))
    if form == "sexagesimal":
        return "1" + ":30" * (digits // 3 + 1)
    body = "1" * digits
    return {
        "dec": body,
        "neg": "-" + body,
        "hex": "0x" + body,
        "oct": "0" + body,
        "bin": "0b" + body,
        "under": "1_" + body,
    }.get(form, body)


@FAST
@given(literal=long_integers(), field=st.sampled_from(["seed", "timeout_s", "service.x"]))
def test_an_integer_longer_than_the_limit_is_an_error(literal: str, field: str) -> None:
    key, _, sub = field.partition(".")
    text = HEAD + (f"{key}: {{{sub}: {literal}}}\n" if sub else f"{key}: {literal}\n")
    (issue,) = _error(text).issues
    assert (issue.line, issue.field) == (4, field)
    assert f"integer of {len(literal)} characters" in issue.problem
    assert f"limit of {MAX_INT_CHARS}" in issue.problem


def test_an_explicit_int_tag_is_bounded_too() -> None:
    (issue,) = _error(HEAD + f"seed: !!int '{'7' * 5000}'\n").issues
    assert issue.field == "seed"
    assert "integer of 5000 characters" in issue.problem


# ---------------------------------------------------------------------- size and count
@settings(max_examples=6, deadline=None)
@given(
    count=st.integers(MAX_NODES + 1, 3 * MAX_NODES),
    shape=st.sampled_from(["[{}]", "{{k{}: 0}}", "[[{}]]"]),
)
def test_more_values_than_the_limit_is_an_error(count: int, shape: str) -> None:
    items = ",".join(shape.format(i) for i in range(count // 2))  # at least 2 values each
    (issue,) = _error(HEAD + "service: {many: [" + items + "]}\n").issues
    assert issue.line == 4
    assert issue.field.startswith("service.many[")
    assert issue.problem == (
        f"more than {MAX_NODES} values (keys, items and scalars) in one file, the limit"
    )


def test_a_text_larger_than_the_limit_is_refused_before_parsing() -> None:
    (issue,) = _error(HEAD + "description: '" + "x" * MAX_CHARS + "'\n").issues
    assert issue.line == 0
    assert f"larger than the limit of {MAX_CHARS}" in issue.problem


def test_a_file_larger_than_the_limit_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text(HEAD + "description: " + "x" * (4 * MAX_CHARS) + "\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(big)
    size = big.stat().st_size
    assert str(info.value) == (
        f"{big}: file of {size} bytes is larger than the limit of {MAX_CHARS} bytes"
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_file_is_refused() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario("/dev/zero")
    assert f"more than {MAX_CHARS} bytes" in str(info.value)


def test_claims_files_have_the_same_limits() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_claims("a: &x text\nb: *x\n", "claims.yaml")
    assert "anchors are not supported" in str(info.value)


# ---------------------------------------------------------------------- odd scalars
def _loads_or_scenario_error(text: str) -> None:
    """Loading ``text`` gives a scenario or a ScenarioError; anything else propagates."""
    try:
        parse_scenario(text, "odd.yaml")
    except ScenarioError as err:
        problems = err.issues
    else:
        return
    assert problems
    assert all(i.path == "odd.yaml" for i in problems)


TAGS = [
    "!!int",
    "!!float",
    "!!bool",
    "!!null",
    "!!timestamp",
    "!!binary",
    "!!str",
    "!!set",
    "!!omap",
    "!!pairs",
    "!!seq",
    "!!map",
    "!!merge",
    "!!python/none",
    "!custom",
    "",
]
SCALAR_TEXT = st.text(st.sampled_from("0123456789-+.:_eExXoObBabcTZ \t=~ny"), max_size=30)


@settings(max_examples=300, deadline=None)
@given(
    tag=st.sampled_from(TAGS),
    value=SCALAR_TEXT,
    shape=st.sampled_from(["{}", "[{}]", "{{k: {}}}", "{}"]),
)
def test_any_tagged_scalar_loads_or_is_a_scenario_error(tag: str, value: str, shape: str) -> None:
    literal = shape.format(f"{tag} {yaml.safe_dump(value, default_style=chr(39)).strip()}")
    for text in (HEAD + f"service: {{x: {literal}}}\n", HEAD + f"seed: {literal}\n"):
        _loads_or_scenario_error(text)


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("ab:-[]{},&*!|>'\"#%@`?\n 0123.e+"), max_size=80))
def test_any_text_is_a_scenario_or_a_scenario_error(text: str) -> None:
    _loads_or_scenario_error(text)


def test_many_problems_are_explained_in_linear_time_and_the_message_is_capped() -> None:
    err = _error("name: x\ncheckers: [{name: accounting}]\nclaims:\n" + "- BAD\n" * 9000)
    assert len(err.issues) >= 9000
    lines = str(err).splitlines()
    assert len(lines) == MAX_SHOWN + 1
    assert lines[-1] == f"bad.yaml: ... and {len(err.issues) - MAX_SHOWN} more problems"


# ---------------------------------------------------------------------- every numeric field
FAULT_NEEDS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # fault kind: (its required fields, the topology it needs)
    "latency": ({"ms": 1}, {}),
    "bandwidth": ({"kb_per_s": 1}, {}),
    "slow_close": ({"delay_ms": 1}, {}),
    "limit_data": ({"bytes": 1}, {}),
    "frames": ({"verb": "PUB"}, {}),
    "break_members": ({"members": [0]}, {"kind": "pool", "size": 2}),
    "break_by_name": ({"connect_name": "a"}, {"kind": "pool", "size": 2}),
    "partition": ({"a": 0, "b": 1}, {"kind": "cluster", "size": 2}),
}


def _models() -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []
    todo: list[Any] = [Scenario]
    while todo:
        item = todo.pop()
        if isinstance(item, type) and issubclass(item, BaseModel):
            if item not in seen:
                seen.append(item)
                for info in item.model_fields.values():
                    todo += [info.annotation, *info.metadata]
        else:
            todo += list(typing.get_args(item))
    return seen


def _numeric_fields() -> list[tuple[type[BaseModel], str, dict[str, Any], bool]]:
    """(model, field, its JSON schema, whether it is a list of numbers) for every number."""
    out = []
    for model in _models():
        for name, prop in model.model_json_schema()["properties"].items():
            for option in prop.get("anyOf", [prop]):
                listed = option.get("type") == "array"
                schema = option.get("items", {}) if listed else option
                if schema.get("type") in ("integer", "number"):
                    out.append((model, name, schema, listed))
    return out


NUMERIC = _numeric_fields()


def _embed(model: type[BaseModel], field: str, value: Any) -> tuple[dict[str, Any], str]:
    """A scenario with ``value`` at ``field`` of ``model``, and that field's path."""
    data: dict[str, Any] = {"name": "x", "claims": ["a.b"], "checkers": [{"name": "accounting"}]}
    name = model.__name__
    fault = getattr(model.model_fields.get("fault"), "annotation", None)
    if name == "Scenario":
        data[field] = value
        return data, field
    if name == "Topology":
        data["topology"] = {"kind": "pool", field: value}
        return data, f"topology.{field}"
    if name == "ServerOptions":
        data["topology"] = {"server": {field: value}}
        return data, f"topology.server.{field}"
    if name in ("Publishes", "Requests", "Messages", "Inputs"):
        data["workload"] = {name.lower(): {field: value}}
        return data, f"workload.{name.lower()}.{field}"
    if name == "Stream":
        stream = {"name": "S", "subjects": ["a"], field: value}
        data["topology"] = {"jetstream": True, "streams": [stream]}
        return data, f"topology.streams[0].{field}"
    if name == "Consumer":
        consumer = {"name": "C", "stream": "S", field: value}
        stream = {"name": "S", "subjects": ["a"]}
        data["topology"] = {"jetstream": True, "streams": [stream], "consumers": [consumer]}
        return data, f"topology.consumers[0].{field}"
    if name in ("TimedTrigger", "EventTrigger"):
        trigger = {field: value} if name == "TimedTrigger" else {"after": "publish", field: value}
        data["faults"] = [{"fault": "kill", "trigger": trigger}]
        return data, f"faults[0].trigger.{field}"
    assert fault is not None, f"no rule to embed {name}"
    (kind,) = typing.get_args(fault)
    required, topology = FAULT_NEEDS.get(kind, ({}, {}))
    data["faults"] = [{"fault": kind, **required, field: value}]
    if topology:
        data["topology"] = topology
    return data, f"faults[0].{field}"


def test_every_numeric_field_of_every_model_has_an_upper_bound() -> None:
    assert len(NUMERIC) >= 30
    unbounded = [
        f"{model.__name__}.{name}"
        for model, name, schema, _ in NUMERIC
        if "maximum" not in schema and "exclusiveMaximum" not in schema
    ]
    assert not unbounded, f"numeric fields without an upper bound: {unbounded}"


@pytest.mark.parametrize(
    ("model", "field", "schema", "listed"),
    NUMERIC,
    ids=[f"{m.__name__}.{f}" for m, f, _, _ in NUMERIC],
)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_a_number_above_a_fields_limit_is_an_error_naming_field_value_and_limit(
    model: type[BaseModel], field: str, schema: dict[str, Any], listed: bool, data: st.DataObject
) -> None:
    limit = schema["maximum"]
    if schema["type"] == "integer":
        value: Any = data.draw(st.integers(limit + 1, 10**30), label="value")
    else:
        value = data.draw(
            st.floats(min_value=limit, exclude_min=True, allow_infinity=False), label="value"
        )
    scenario, path = _embed(model, field, [value] if listed else value)
    text = yaml.safe_dump(scenario, sort_keys=False, default_flow_style=False)
    issue = next(i for i in _error(text).issues if i.field.startswith(path))
    assert issue.field == (f"{path}[0]" if listed else path)
    key = re.search(rf"^[ -]*{field}:", text, re.MULTILINE)
    assert key is not None
    assert issue.line == text[: key.start()].count("\n") + 1 + (1 if listed else 0)
    shown = str(int(limit)) if float(limit).is_integer() else str(limit)
    assert f"<= {shown} (the limit)" in issue.problem
    assert issue.problem.endswith(f"got {value!r}")
