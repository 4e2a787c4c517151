"""subject_matches: NATS subscription subjects against literal subjects."""

from __future__ import annotations

import pytest

from nats_fault_harness.servers._server import subject_matches


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("orders.new", "orders.new", True),
        ("orders.new", "orders.old", False),
        ("orders.*", "orders.new", True),
        ("orders.*", "orders.new.eu", False),
        ("orders.*", "orders", False),
        ("orders.>", "orders.new", True),
        ("orders.>", "orders.new.eu", True),
        ("orders.>", "orders", False),
        (">", "anything.at.all", True),
        ("*.new", "orders.new", True),
        ("*.new", "new", False),
        ("a.*.c", "a.b.c", True),
        ("a.*.c", "a.b.d", False),
        ("orders", "orders.new", False),
    ],
)
def test_subject_matches(pattern: str, subject: str, expected: bool) -> None:
    assert subject_matches(pattern, subject) is expected
