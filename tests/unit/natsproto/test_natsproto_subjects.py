"""NATS subject wildcards: a table of matches and invalid patterns."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nats_fault_harness.natsproto import SubjectPattern, check_pattern, subject_matches


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("orders.*", "orders.1", True),
        ("orders.*", "orders", False),
        ("orders.*", "orders.1.2", False),
        ("orders.*", "ordersX.1", False),
        ("chat.>", "chat.a", True),
        ("chat.>", "chat.a.b.c", True),
        ("chat.>", "chat", False),
        ("chat.>", "chatty.a", False),
        (">", "a", True),
        (">", "a.b.c", True),
        ("*", "a", True),
        ("*", "a.b", False),
        ("*.b.>", "a.b.c", True),
        ("*.b.>", "a.b", False),
        ("*.b.>", "a.c.d", False),
        ("a.*.c", "a.b.c", True),
        ("a.*.c", "a.b.d", False),
        ("a.b", "a.b", True),
        ("a.b", "a.bc", False),
        ("a*", "a*", True),  # wildcards count only as whole tokens
        ("a*", "ab", False),
        ("a.>", "a.", True),  # an empty last token still is a token
    ],
)
def test_matching_table(pattern: str, subject: str, expected: bool) -> None:
    assert subject_matches(pattern, subject) is expected
    assert SubjectPattern(pattern).matches(subject) is expected


@pytest.mark.parametrize("pattern", ["", "a..b", ".a", "a.", "a.>.b", ">.a", "a b", "a\tb"])
def test_invalid_patterns(pattern: str) -> None:
    with pytest.raises(ValueError):
        check_pattern(pattern)


_TOKEN = st.text("abc", min_size=1, max_size=3)


@given(st.lists(_TOKEN, min_size=1, max_size=5), st.data())
def test_wildcards_agree_with_a_token_by_token_definition(
    tokens: list[str], data: st.DataObject
) -> None:
    subject = ".".join(tokens)
    pattern_tokens = [data.draw(st.sampled_from([t, "*", "x"])) for t in tokens]
    cut = data.draw(st.integers(0, len(tokens)))
    if cut < len(tokens) and data.draw(st.booleans()):
        pattern_tokens = [*pattern_tokens[:cut], ">"]
    pattern = ".".join(pattern_tokens)

    def reference() -> bool:
        if pattern_tokens[-1] == ">":
            head = pattern_tokens[:-1]
            if len(tokens) <= len(head):
                return False
        else:
            head = pattern_tokens
            if len(tokens) != len(head):
                return False
        return all(p in ("*", t) for p, t in zip(head, tokens, strict=False))

    assert SubjectPattern(pattern).matches(subject) is reference()
