"""Several CI jobs share one property campaign through hypothesis's own example database.

Two jobs are two pytest processes of one project (the documented conftest in
``docs/property.md``, :mod:`tests.property.campaign_conftest`) that share a database
folder. Job 1 hunts with 200 examples and finds the planted failure; job 2 runs one
example only, which cannot find it by itself (hypothesis's first example is the
simplest one; the control with an empty database passes), yet fails on the very example
job 1 found, because hypothesis replays the saved failure before drawing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("campaign_conftest.py")
TEST = """
from hypothesis import given, strategies as st
from nats_fault_harness._hypothesis import property_settings

@given(st.integers(min_value=0))
@property_settings()
def test_budget(x):
    assert x <= 1000, "a planted bug above 1000"
"""


def _run(pytester: pytest.Pytester, db: Path, examples: int) -> pytest.RunResult:
    pytester._monkeypatch.setenv("CAMPAIGN_DB", str(db))
    pytester._monkeypatch.setenv("CAMPAIGN_EXAMPLES", str(examples))
    # no --hypothesis-seed: hypothesis neither reads nor saves the database under a seed
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--hypothesis-profile", "campaign"
    )


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makepyfile(test_campaign=TEST)
    return pytester


def test_a_failure_one_job_finds_is_replayed_by_the_next(project: pytest.Pytester) -> None:
    shared = project.path / "shared-db"
    alone = project.path / "empty-db"

    control = _run(project, alone, 1)
    control.assert_outcomes(passed=1)  # one example cannot find it on its own

    first = _run(project, shared, 200)
    first.assert_outcomes(failed=1)
    found = re.search(r"^E +x=(\d+),", first.stdout.str(), re.M)
    assert found is not None, first.stdout.str()
    assert int(found.group(1)) == 1001  # shrunk to the boundary
    assert any(p.is_file() for p in shared.rglob("*")), "job 1 saved nothing"

    second = _run(project, shared, 1)
    second.assert_outcomes(failed=1)
    assert f"x={found.group(1)}" in second.stdout.str()
