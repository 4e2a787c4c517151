"""NATS subject patterns: ``*`` matches one token, ``>`` (last token only) one or more.

``orders.*`` matches ``orders.1`` but not ``orders`` or ``orders.1.2``; ``chat.>`` matches
``chat.a`` and ``chat.a.b`` but not ``chat``; ``>`` matches every subject. Wildcards count
only as whole tokens (``a*`` is a literal token), as in nats-server.
"""

from __future__ import annotations

__all__ = ["SubjectPattern", "check_pattern", "subject_matches"]

_FORBIDDEN = frozenset(" \t\r\n\f\v")


def check_pattern(pattern: str) -> None:
    """Check that ``pattern`` is a valid subscription subject.

    Raises:
        ValueError: empty, an empty token, whitespace, or ``>`` not as the last token.
    """
    if not pattern:
        raise ValueError("empty subject pattern")
    if any(char in _FORBIDDEN for char in pattern):
        raise ValueError(f"whitespace in subject pattern {pattern!r}")
    tokens = pattern.split(".")
    if any(not token for token in tokens):
        raise ValueError(f"empty token in subject pattern {pattern!r}")
    if ">" in tokens[:-1]:
        raise ValueError(f"'>' must be the last token in {pattern!r}")


class SubjectPattern:
    """A checked pattern, prepared for fast repeated matching.

    Args:
        pattern: the pattern (``orders.*``, ``chat.>``, ``>``).

    Raises:
        ValueError: the pattern is invalid (see :func:`check_pattern`).
    """

    __slots__ = ("_literal", "_prefix", "_tail", "_tokens", "pattern")

    def __init__(self, pattern: str) -> None:
        check_pattern(pattern)
        self.pattern = pattern
        tokens = pattern.split(".")
        self._tail = tokens[-1] == ">"
        self._tokens = tokens[:-1] if self._tail else tokens
        self._literal = "*" not in tokens and not self._tail
        # "a.b.>" without "*": a prefix test is enough.
        self._prefix = (
            pattern[:-1] if self._tail and "*" not in self._tokens and self._tokens else None
        )

    def matches(self, subject: str) -> bool:
        """True if ``subject`` matches the pattern."""
        if self._literal:
            return subject == self.pattern
        if self._prefix is not None:
            return subject.startswith(self._prefix)
        parts = subject.split(".")
        tokens = self._tokens
        if self._tail:
            if len(parts) <= len(tokens):
                return False
        elif len(parts) != len(tokens):
            return False
        return all(t == "*" or t == p for t, p in zip(tokens, parts, strict=False))

    def __repr__(self) -> str:
        return f"SubjectPattern({self.pattern!r})"


def subject_matches(pattern: str, subject: str) -> bool:
    """True if ``subject`` matches ``pattern`` (checks the pattern each call).

    Raises:
        ValueError: the pattern is invalid.
    """
    return SubjectPattern(pattern).matches(subject)
