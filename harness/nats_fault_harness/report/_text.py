"""Odd text made safe at the report's edges: lone surrogates, NUL and control characters.

A test id, an assertion message or an exception text can hold anything Python's ``str``
can: a lone surrogate (``"\\udcff"``, what ``surrogateescape`` makes of a non-UTF-8 byte)
cannot be encoded as UTF-8 at all, and NUL or other control characters are not allowed in
HTML. Every text the report writes passes through :func:`clean_text`: a surrogate becomes
U+FFFD, a C0 control character (other than tab, newline and carriage return) or DEL its
visible picture (NUL -> U+2400 "␀", ESC -> U+241B "␛"), a C1 control character U+FFFD. So
writing a report never fails on its content, and the reader still sees where a character
was.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["clean_data", "clean_text"]

REPLACEMENT = "\ufffd"
_ODD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _replace(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return REPLACEMENT


def clean_text(text: str) -> str:
    """``text`` with surrogates and control characters replaced (see the module docstring)."""
    return _ODD.sub(_replace, text)


def clean_data(value: Any) -> Any:
    """JSON-like ``value`` with every string (keys included) passed through :func:`clean_text`."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_data(k): clean_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_data(v) for v in value]
    return value
