"""A long failure keeps its cause: the exception's message first, the traceback's end kept."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nats_fault_harness.report._build import MAX_FAILURE, cut_middle


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=3 * MAX_FAILURE), st.integers(200, MAX_FAILURE))
def test_cut_middle_is_bounded_and_keeps_both_ends(text: str, limit: int) -> None:
    out = cut_middle(text, limit)
    assert len(out) <= limit
    if len(text) <= limit:
        assert out == text
    else:
        assert "characters left out" in out
        assert text.endswith(out[-((limit - 60) // 2) :])
        assert text.startswith(out[: (limit - 60) // 4])


def test_a_timeout_message_at_the_end_of_a_long_traceback_survives() -> None:
    frames = "".join(f'  File "x.py", line {i}, in f{i}\n    g()\n' for i in range(2000))
    text = f"Traceback (most recent call last):\n{frames}WaitTimeout: scenario timed out after 30 s"
    assert len(text) > MAX_FAILURE
    assert cut_middle(text, MAX_FAILURE).endswith("WaitTimeout: scenario timed out after 30 s")


def test_the_plugin_puts_the_cause_first(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_deep="""
        def f(n):
            return f(n - 1) if n else 1 / 0

        def test_deep():
            f(300)
        """
    )
    report = pytester.path / "r.html"
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--fault-report", str(report))
    import json

    data = json.loads(report.with_suffix(".json").read_text())
    (entry,) = data["tests"]
    failure = entry["failure"]
    assert failure.startswith("ZeroDivisionError: division by zero"), failure[:200]
    assert len(failure) <= MAX_FAILURE
