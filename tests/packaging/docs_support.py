"""What the documentation tests compare the docs with, read from the code.

Run as a script it prints the skeleton of the scenario reference's field tables
(``python tests/packaging/docs_support.py``), with names and defaults filled in.
"""

from __future__ import annotations

import ast
import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


# ---------------------------------------------------------------------- scenario models
def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in typing.get_args(annotation):
        yield from _models_in(arg)


def scenario_models() -> list[type[BaseModel]]:
    """:class:`~nats_fault_harness.scenario.Scenario` and every model below it, in discovery
    order."""
    from nats_fault_harness.scenario import Scenario

    seen: list[type[BaseModel]] = []
    todo: list[type[BaseModel]] = [Scenario]
    while todo:
        model = todo.pop(0)
        if model in seen:
            continue
        seen.append(model)
        for info in model.model_fields.values():
            todo.extend(_models_in(info.annotation))
            for meta in info.metadata:  # discriminated unions keep their members here
                todo.extend(_models_in(meta))
    return seen


def _flow(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value or '""'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    return repr(value)


def render_default(info: FieldInfo) -> str:
    """A field's default as the reference shows it: ``required``, ``all defaults`` (a
    nested model) or the YAML value in backticks."""
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return "all defaults"
    else:
        value = info.default
    return f"`{_flow(value)}`"


# ---------------------------------------------------------------------- markdown
def sections(text: str) -> dict[str, str]:
    """Markdown heading -> the text below it (up to the next heading of any level)."""
    found: dict[str, str] = {}
    heading, body, fenced = "", [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and re.match(r"#{1,6} ", line):
            if heading:
                found[heading] = "".join(body)
            heading, body = line.strip(), []
        else:
            body.append(line)
    if heading:
        found[heading] = "".join(body)
    return found


def table_rows(text: str) -> dict[str, list[str]]:
    """First cell (without backticks) -> cells, for every table row in ``text``."""
    rows: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = cells
    return rows


# ---------------------------------------------------------------------- environment
def environ_reads() -> dict[str, str]:
    """Every environment variable a module of ``harness/`` reads: name -> module.

    Finds ``os.environ.get(X)``, ``os.environ[X]`` and ``os.getenv(X)`` where ``X`` is a
    string literal or a module-level constant holding one; also the names a module
    writes into a child's environment (``env[NAME_ENV] = ...`` with a ``*_ENV`` constant).
    """
    found: dict[str, str] = {}
    for path in sorted((ROOT / "harness" / "nats_fault_harness").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        consts = {
            t.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            for t in node.targets
            if isinstance(t, ast.Name)
        }

        def name_of(expr: ast.expr, consts: dict[str, str] = consts) -> str | None:
            if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
                return expr.value
            if isinstance(expr, ast.Name):
                return consts.get(expr.id)
            return None

        module = path.relative_to(ROOT).as_posix()
        for node in ast.walk(tree):
            key: ast.expr | None = None
            if isinstance(node, ast.Call) and node.args:
                func = ast.unparse(node.func)
                if func in ("os.environ.get", "os.getenv", "environ.get"):
                    key = node.args[0]
            elif isinstance(node, ast.Subscript):
                target = ast.unparse(node.value)
                if target in ("os.environ", "environ") or (
                    isinstance(node.slice, ast.Name) and node.slice.id.endswith("_ENV")
                ):
                    key = node.slice
            name = name_of(key) if key is not None else None
            if name:
                found.setdefault(name, module)
    return found


# ---------------------------------------------------------------------- pytest options
class _Recorder:
    """Stands in for pytest's parser and option group; records what the plugin adds."""

    def __init__(self) -> None:
        self.options: list[tuple[list[str], dict[str, Any]]] = []
        self.ini: list[str] = []

    def getgroup(self, *args: Any, **kwargs: Any) -> _Recorder:
        return self

    def addoption(self, *names: str, **kwargs: Any) -> None:
        self.options.append((list(names), kwargs))

    def addini(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.ini.append(name)


def plugin_options() -> tuple[list[tuple[list[str], dict[str, Any]]], list[str]]:
    """The plugin's command-line options (names, keyword arguments) and ini keys."""
    from nats_fault_harness import pytest_plugin

    recorder = _Recorder()
    pytest_plugin.pytest_addoption(recorder)  # type: ignore[arg-type]
    return recorder.options, recorder.ini


def _skeleton() -> str:
    out: list[str] = []
    for model in scenario_models():
        out.append(
            f"### `{model.__name__}`\n\n| field | type | default | meaning |\n|---|---|---|---|"
        )
        for name, info in model.model_fields.items():
            out.append(f"| `{name}` | {info.annotation} | {render_default(info)} | |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(_skeleton())
