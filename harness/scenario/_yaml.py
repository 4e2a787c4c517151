"""Safe YAML loading that remembers where every key and item came from.

PyYAML's ``SafeLoader`` constructs only plain data (no tags that run code) but silently
keeps the last of two equal keys; this loader rejects duplicates instead and returns,
beside the data, the line of every mapping key and sequence item, keyed by its path
(``("faults", 1, "ms")``), so that validation errors can name a line.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["Lines", "YamlError", "load_yaml"]

Lines = dict[tuple[str | int, ...], int]
"""Path of a key or item -> 1-based line."""

_MERGE = "tag:yaml.org,2002:merge"


class YamlError(Exception):
    """Malformed YAML: a syntax error or a duplicate key, with the 1-based line."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class _Loader(yaml.SafeLoader):
    """``SafeLoader`` that refuses duplicate mapping keys."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
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
        return super().construct_mapping(node, deep=deep)


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
    """Parse one YAML document safely.

    Args:
        text: the document.

    Returns:
        The data (``None`` for an empty document) and the line of each path in it.

    Raises:
        YamlError: syntax error, duplicate key, several documents, or an unknown tag.
    """
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
    finally:
        loader.dispose()
