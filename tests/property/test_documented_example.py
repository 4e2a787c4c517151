"""The property example of the README and of docs/property.md runs as written elsewhere.

Each code block is copied verbatim into a pytester project that has no conftest (only the
installed plugin, as in a user's project) and run in a subprocess with hypothesis's
statistics: it passes, with the 10 examples of the default profile (``nats-dev``), on
real servers through the plugin's ``reusable_env`` fixture.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis._settings import _CI_VARS

from nats_fault_harness._hypothesis import PROFILE_ENV

ROOT = Path(__file__).resolve().parents[2]
README_SECTION = "## Property-based fault schedules that shrink, and exact replay"


def _first_python_block(text: str) -> str:
    match = re.search(r"```python\n(.*?)```", text, re.S)
    assert match, "no python code block"
    return match.group(1)


def documented_examples() -> dict[str, str]:
    """Where -> the property example's code, as the page shows it."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index(README_SECTION) :]
    return {
        "README.md": _first_python_block(section),
        "docs/property.md": _first_python_block((ROOT / "docs" / "property.md").read_text()),
    }


@pytest.mark.parametrize("where", sorted(documented_examples()))
def test_the_documented_property_example_runs_in_an_outside_project(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    code = documented_examples()[where]
    assert "reusable_env" in code
    assert "check_scenario" in code
    for name in (*_CI_VARS, PROFILE_ENV):  # the default profile, whatever runs this test
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(test_documented=code)
    assert not list(pytester.path.rglob("conftest.py"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--hypothesis-show-statistics")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*- 10 passing, 0 failing*"])
    assert not (pytester.path / "reports").exists()  # no falsifying example was written
