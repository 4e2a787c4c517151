"""Load scenario and claims files into models, or fail with one :class:`ScenarioError`.

Only plain data is read (a safe loader: no tag can construct an object or run code), and
nothing is returned from a file that has any problem, so nothing can run from it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from nats_fault_harness.scenario._errors import Issue, ScenarioError
from nats_fault_harness.scenario._explain import describe, explain
from nats_fault_harness.scenario._model import Claim, Claims, Scenario
from nats_fault_harness.scenario._yaml import MAX_CHARS, Lines, YamlError, load_yaml

__all__ = ["dump_scenario", "load_claims", "load_scenario", "parse_claims", "parse_scenario"]

StrPath = str | os.PathLike[str]


def _read(path: StrPath) -> str:
    """The file's text; never more than :data:`MAX_CHARS` bytes are read (a FIFO, /dev/zero)."""
    try:
        with Path(path).open("rb") as file:
            raw = file.read(MAX_CHARS + 1)
            size = os.fstat(file.fileno()).st_size
        if len(raw) > MAX_CHARS:
            shown = f"{size} bytes" if size > MAX_CHARS else f"more than {MAX_CHARS} bytes"
            problem = f"file of {shown} is larger than the limit of {MAX_CHARS} bytes"
            raise ScenarioError([Issue(str(path), 0, "", problem)])
        return raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Issue(str(path), 0, "", f"cannot read file: {exc}")]) from exc


def _mapping(text: str, where: str, keys: str) -> tuple[dict[Any, Any], Lines]:
    try:
        data, lines = load_yaml(text)
    except YamlError as exc:
        raise ScenarioError([Issue(where, exc.line, exc.field, exc.message)]) from exc
    if data is None:
        raise ScenarioError([Issue(where, 1, "", f"empty file; expected a mapping with {keys}")])
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else repr(data)
        problem = f"expected a mapping at the top level, got {kind}"
        raise ScenarioError([Issue(where, lines.get((), 1), "", problem)], value=data)
    return data, lines


def parse_scenario(text: str, where: str = "<string>", claims: Claims | None = None) -> Scenario:
    """Validate scenario YAML ``text``; ``where`` names it in errors.

    Args:
        text: the YAML document.
        where: the file name to report.
        claims: the catalogue the scenario's claim ids must come from (unchecked if None).

    Returns:
        The scenario.

    Raises:
        ScenarioError: with one ``where:line: field: problem`` line per problem.
    """
    fields = ", ".join(Scenario.model_fields)
    data, lines = _mapping(text, where, f"keys {fields}")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(explain(exc, data, lines, where)) from None
    if claims is not None:
        known = ", ".join(claims.ids())
        issues = [
            Issue(
                where,
                lines.get(("claims", i), 0),
                f"claims[{i}]",
                f"unknown claim id {cid!r}; known: {known}",
            )
            for i, cid in enumerate(scenario.claims)
            if cid not in claims
        ]
        if issues:
            raise ScenarioError(issues)
    return scenario


def load_scenario(path: StrPath, claims: Claims | None = None) -> Scenario:
    """Read and validate one scenario file (see :func:`parse_scenario`).

    Raises:
        ScenarioError: the file cannot be read, is not valid YAML, or is not a valid scenario.
    """
    return parse_scenario(_read(path), str(path), claims)


def parse_claims(text: str, where: str = "<string>") -> Claims:
    """Validate a claims catalogue: a mapping of claim id to claim text.

    Raises:
        ScenarioError: with one line per bad id or text (duplicate ids are YAML errors).
    """
    data, lines = _mapping(text, where, "claim ids as keys and claim texts as values")
    claims: list[Claim] = []
    issues: list[Issue] = []
    for key, text_ in data.items():
        try:
            claims.append(Claim.model_validate({"id": key, "text": text_}))
        except ValidationError as exc:
            line = lines.get((key,), 0) if isinstance(key, str | int) else 0
            issues += [
                Issue(where, line, str(key), describe(err)) for err in exc.errors(include_url=False)
            ]
    if issues:
        raise ScenarioError(issues)
    return Claims(claims=tuple(claims))


def load_claims(path: StrPath) -> Claims:
    """Read and validate a claims catalogue file such as ``scenarios/claims.yaml``."""
    return parse_claims(_read(path), str(path))


def dump_scenario(scenario: Scenario) -> str:
    """YAML text that :func:`parse_scenario` turns back into an equal scenario.

    Defaults are left out so that a dumped (for example shrunk) scenario stays short.
    Non-ASCII text is escaped: PyYAML writes some characters (U+0085, U+2028) raw and then
    reads them back as line breaks.
    """
    data = scenario.model_dump(mode="json", exclude_defaults=True)
    for i, step in enumerate(data.get("faults", [])):
        trigger = step.pop("trigger", None)
        data["faults"][i] = {"fault": step.pop("fault"), **step}
        if trigger is not None:
            data["faults"][i]["trigger"] = trigger
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=False, default_flow_style=False)
