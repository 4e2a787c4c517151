"""``NATSSubjectManager``: builds subjects from named patterns and validates subjects.

Subjects are built from patterns such as ``chat.say.room.{room_id}`` so that no caller
concatenates strings (the source of subjects with spaces, empty tokens or an accidental
wildcard from user input). A parameter must be exactly one token, so a value like
``"a.b"`` or ``">"`` cannot widen a subject. The rules checked are the server's: tokens
separated by ``.``, no empty token, no whitespace or control characters, ``*`` and ``>``
only as whole tokens (and ``>`` last), and only where wildcards are allowed (subscribe).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from types import MappingProxyType

from nats_fault_harness.reference.nats_exceptions import NATSSubjectError

__all__ = ["DEFAULT_PATTERNS", "NATSSubjectManager"]

DEFAULT_PATTERNS: Mapping[str, str] = MappingProxyType(
    {
        "chat_say_room": "chat.say.room.{room_id}",
        "chat_local_subzone": "chat.local.subzone.{subzone}",
        "chat_global": "chat.global",
        "chat_whisper_player": "chat.whisper.player.{target_id}",
        "chat_system": "chat.system",
        "event_player_entered": "events.player_entered.{room_id}",
        "event_player_left": "events.player_left.{room_id}",
        "event_game_tick": "events.game_tick",
    }
)

_PARAM_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")
_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f]")


def _fields(pattern: str) -> tuple[str, ...]:
    names = [name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None]
    for name in names:
        if not name.isidentifier():
            raise NATSSubjectError(
                f"pattern {pattern!r} has a bad placeholder {{{name}}}",
                subject=pattern,
                reason="placeholder is not an identifier",
            )
    return tuple(names)


class NATSSubjectManager:
    """Registry of subject patterns plus the subject rules.

    Args:
        patterns: name -> pattern; defaults to :data:`DEFAULT_PATTERNS`.
        max_length: longest subject accepted.
    """

    def __init__(self, patterns: Mapping[str, str] | None = None, *, max_length: int = 255) -> None:
        self._max_length = max_length
        self._patterns: dict[str, tuple[str, tuple[str, ...]]] = {}
        for name, pattern in (DEFAULT_PATTERNS if patterns is None else patterns).items():
            self.register_pattern(name, pattern)

    @property
    def patterns(self) -> Mapping[str, str]:
        """The registered patterns, name -> pattern (read-only view)."""
        return MappingProxyType({name: pat for name, (pat, _) in self._patterns.items()})

    def register_pattern(self, name: str, pattern: str) -> None:
        """Add or replace a pattern after checking its literal tokens.

        Raises:
            NATSSubjectError: if the pattern is not a valid subject template.
        """
        fields = _fields(pattern)
        self.validate(pattern.format(**{field: "x" for field in fields}))
        self._patterns[name] = (pattern, fields)

    def build(self, name: str, **params: str) -> str:
        """Build the subject for pattern ``name`` with ``params`` filled in.

        Raises:
            NATSSubjectError: unknown pattern, missing or unexpected parameters, or a
                parameter that is not exactly one safe token.
        """
        if name not in self._patterns:
            raise NATSSubjectError(f"unknown subject pattern {name!r}", reason="unknown pattern")
        pattern, fields = self._patterns[name]
        missing = sorted(set(fields) - params.keys())
        extra = sorted(params.keys() - set(fields))
        if missing or extra:
            raise NATSSubjectError(
                f"pattern {name!r} ({pattern}) needs {sorted(fields)}; "
                f"missing {missing}, unexpected {extra}",
                subject=pattern,
                reason="parameters do not match the pattern",
            )
        for key, value in params.items():
            if not _PARAM_TOKEN.fullmatch(str(value)):
                raise NATSSubjectError(
                    f"parameter {key}={value!r} must be one token of [A-Za-z0-9_-]",
                    subject=pattern,
                    reason=f"bad parameter {key}",
                )
        return self.validate(pattern.format(**params))

    def validate(self, subject: str, *, allow_wildcards: bool = False) -> str:
        """Return ``subject`` unchanged if it is valid.

        Args:
            subject: the subject to check.
            allow_wildcards: accept ``*`` and ``>`` tokens (subscriptions).

        Raises:
            NATSSubjectError: naming the broken rule.
        """
        reason = self._problem(subject, allow_wildcards)
        if reason:
            raise NATSSubjectError(
                f"invalid subject {subject!r}: {reason}", subject=subject, reason=reason
            )
        return subject

    def is_valid(self, subject: str, *, allow_wildcards: bool = False) -> bool:
        """Return True if :meth:`validate` would accept ``subject``."""
        return not self._problem(subject, allow_wildcards)

    def _problem(self, subject: str, allow_wildcards: bool) -> str:
        if not subject:
            return "empty subject"
        if len(subject) > self._max_length:
            return f"longer than {self._max_length} characters"
        if _FORBIDDEN.search(subject):
            return "contains whitespace or control characters"
        tokens = subject.split(".")
        for position, token in enumerate(tokens):
            if not token:
                return "empty token"
            if token in ("*", ">"):
                if not allow_wildcards:
                    return "wildcards are not allowed here"
                if token == ">" and position != len(tokens) - 1:
                    return "'>' must be the last token"
            elif "*" in token or ">" in token:
                return "wildcard characters inside a token"
        return ""
