"""Safe YAML loading that remembers where every key and item came from, at bounded cost.

PyYAML's ``SafeLoader`` constructs only plain data (no tags that run code) but silently
keeps the last of two equal keys; this loader rejects duplicates instead and returns,
beside the data, the line of every mapping key and sequence item, keyed by its path
(``("faults", 1, "ms")``), so that validation errors can name a line.

It also bounds the work a document can cause, whatever it holds (see "Limits" in
``docs/scenario-reference.md``): at most :data:`MAX_CHARS` characters, :data:`MAX_NODES`
values, :data:`MAX_DEPTH` levels of nesting and integers of :data:`MAX_INT_CHARS`
characters; and no anchors or aliases, so what is built is never larger than what was
read (a 400-byte "billion laughs" file of nested aliases would otherwise expand to
gigabytes). Scenario files do not need aliases: nothing in ``scenarios/`` uses them.
A constructor that fails on a value (``!!int abc``, a 13th month) is a :class:`YamlError`
with its line, never another exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent, CollectionStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = [
    "MAX_CHARS",
    "MAX_DEPTH",
    "MAX_INT_CHARS",
    "MAX_NODES",
    "Lines",
    "YamlError",
    "field_name",
    "load_yaml",
]

Lines = dict[tuple[str | int, ...], int]
"""Path of a key or item -> 1-based line."""

MAX_CHARS = 256 * 1024
"""Largest document, in characters (a file: in bytes). Scenario files are a few KB."""
MAX_NODES = 10_000
"""Most values (scalars, lists and mappings, keys included) in one document."""
MAX_DEPTH = 32
"""Deepest nesting of lists and mappings (a scenario needs 5)."""
MAX_INT_CHARS = 40
"""Longest integer literal; every integer a scenario takes has at most 19 digits."""

_MERGE = "tag:yaml.org,2002:merge"
_INT = "tag:yaml.org,2002:int"
# What PyYAML's constructors raise on a value they cannot convert: int('abc'), a month of
# 13, an empty !!int (IndexError), a !!timestamp that is not one (AttributeError).
_CONVERSION_ERRORS = (ValueError, TypeError, LookupError, ArithmeticError, AttributeError)


class YamlError(Exception):
    """Malformed or too costly YAML, with the 1-based line and the field path if known."""

    def __init__(self, message: str, line: int, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.field = field


def field_name(path: Sequence[str | int]) -> str:
    """``("faults", 1, "ms")`` -> ``faults[1].ms``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Loader(yaml.SafeLoader):
    """``SafeLoader`` that refuses duplicate keys, aliases, and documents that cost too much."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._path: list[str | int] = []
        self._depth = 0
        self._nodes = 0

    # ---------------------------------------------------------------- composing (bounded)
    def _refuse(self, message: str, line: int) -> YamlError:
        return YamlError(message, line, field_name(self._path))

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        line = event.start_mark.line + 1
        step: list[str | int] = []
        if isinstance(parent, SequenceNode) and isinstance(index, int):
            step = [index]
        elif isinstance(parent, MappingNode) and isinstance(index, ScalarNode):
            step = [index.value]
        self._path.extend(step)
        try:
            if isinstance(event, AliasEvent):
                raise self._refuse(
                    f"YAML aliases are not supported, found *{_short(str(event.anchor))}: "
                    "write the value out",
                    line,
                )
            if event.anchor is not None:
                raise self._refuse(
                    f"YAML anchors are not supported, found &{_short(str(event.anchor))}: "
                    "write the value out where it is used",
                    line,
                )
            self._nodes += 1
            if self._nodes > MAX_NODES:
                raise self._refuse(
                    f"more than {MAX_NODES} values (keys, items and scalars) in one file, "
                    f"the limit",
                    line,
                )
            if isinstance(event, CollectionStartEvent):
                if self._depth >= MAX_DEPTH:
                    raise self._refuse(f"nested more than {MAX_DEPTH} levels deep, the limit", line)
                self._depth += 1
                try:
                    return super().compose_node(parent, index)
                finally:
                    self._depth -= 1
            return super().compose_node(parent, index)
        finally:
            del self._path[len(self._path) - len(step) :]

    def compose_scalar_node(self, anchor: Any) -> ScalarNode:
        node: ScalarNode = super().compose_scalar_node(anchor)
        if node.tag == _INT and len(node.value) > MAX_INT_CHARS:
            raise self._refuse(
                f"integer of {len(node.value)} characters ({_short(node.value)}) is longer "
                f"than the limit of {MAX_INT_CHARS}",
                node.start_mark.line + 1,
            )
        return node

    # ---------------------------------------------------------------- constructing
    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except _CONVERSION_ERRORS as exc:
            tag = str(node.tag).rpartition(":")[2]
            shown = _short(node.value) if isinstance(node, ScalarNode) else "a collection"
            raise YamlError(
                f"invalid YAML: cannot read {shown!r} as !!{tag}: {exc}", node.start_mark.line + 1
            ) from exc

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):  # the base class reports any other node
            self._no_duplicates(node)
        return super().construct_mapping(node, deep=deep)

    def _no_duplicates(self, node: MappingNode) -> None:
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # unhashable key: the base class reports it
                continue
            line = key_node.start_mark.line + 1
            if first is not None:
                raise YamlError(f"duplicate key {key!r} (first defined on line {first})", line)
            seen[key] = line


def _record(loader: _Loader, node: Node, path: tuple[str | int, ...], lines: Lines) -> None:
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                continue
            key = loader.construct_object(key_node)
            if isinstance(key, str | int):
                sub = (*path, key)
                lines.setdefault(sub, key_node.start_mark.line + 1)
                _record(loader, value_node, sub, lines)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            sub = (*path, index)
            lines[sub] = item.start_mark.line + 1
            _record(loader, item, sub, lines)


def load_yaml(text: str) -> tuple[Any, Lines]:
    """Parse one YAML document safely, at a cost bounded by the limits above.

    Args:
        text: the document.

    Returns:
        The data (``None`` for an empty document) and the line of each path in it.

    Raises:
        YamlError: syntax error, duplicate key, several documents, an unknown tag, a value
            its tag cannot read, an anchor or alias, or a limit exceeded.
    """
    if len(text) > MAX_CHARS:
        raise YamlError(
            f"document of {len(text)} characters is larger than the limit of {MAX_CHARS}", 0
        )
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        data = loader.construct_document(node)
        lines: Lines = {(): node.start_mark.line + 1}
        _record(loader, node, (), lines)
        return data, lines
    except YamlError:
        raise
    except (yaml.MarkedYAMLError, ConstructorError) as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        start = exc.context_mark
        if start is not None and mark is not None and start.line != mark.line:
            problem += f" (the construct started on line {start.line + 1})"
        raise YamlError(f"invalid YAML: {problem}", line) from exc
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}", 0) from exc
    except (*_CONVERSION_ERRORS, RecursionError) as exc:  # a constructor's, outside any node
        raise YamlError(f"invalid YAML: {type(exc).__name__}: {exc}", 0) from exc
    finally:
        loader.dispose()
