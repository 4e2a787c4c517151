"""Each documented profile runs the number of examples it promises, however it is selected.

A pytester project (no conftest: only the installed plugin) has a property test that
counts its calls and a plain hypothesis test beside it; each case runs it in a subprocess
with the profile chosen by ``--hypothesis-profile``, by ``NATS_HARNESS_HYPOTHESIS_PROFILE``
or by nothing (with and without ``CI=true``, under which hypothesis loads its own ``ci``
profile of 100 examples) and reads the counts back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis._settings import _CI_VARS

from nats_fault_harness._hypothesis import (
    CI_PROFILE,
    DEV_PROFILE,
    PROFILE_ENV,
    PROFILES,
    THOROUGH_PROFILE,
    property_profile,
    register_profiles,
)

COUNTING = """
import json, os
from hypothesis import given, strategies as st
from nats_fault_harness._hypothesis import property_settings

def _record(name, value):
    with open(os.environ["COUNTS_FILE"], "a") as f:
        f.write(json.dumps([name, value]) + "\\n")

@given(st.integers())
@property_settings()
def test_property(x):
    _record("property", x)

@given(st.integers())
def test_plain(x):
    _record("plain", x)
"""

EXPECTED = {DEV_PROFILE: 10, CI_PROFILE: 25, THOROUGH_PROFILE: 200}
HYPOTHESIS_DEFAULT = 100  # both of hypothesis's own profiles, "default" and "ci"


def _run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str, **env: str
) -> dict[str, list[int]]:
    for name in (*_CI_VARS, PROFILE_ENV):  # whatever the outer run's environment holds
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    counts = pytester.path / "counts.jsonl"
    counts.unlink(missing_ok=True)
    monkeypatch.setenv("COUNTS_FILE", str(counts))
    pytester.makepyfile(test_counting=COUNTING)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    result.assert_outcomes(passed=2)
    calls: dict[str, list[int]] = {"property": [], "plain": []}
    for line in Path(counts).read_text().splitlines():
        name, value = json.loads(line)
        calls[name].append(value)
    return calls


CASES = [
    pytest.param((), {}, DEV_PROFILE, id="nothing chosen"),
    pytest.param((), {"CI": "true"}, CI_PROFILE, id="CI=true"),
    *(
        pytest.param(("--hypothesis-profile", name), {}, name, id=f"--hypothesis-profile {name}")
        for name in PROFILES
    ),
    *(pytest.param((), {PROFILE_ENV: name}, name, id=f"{PROFILE_ENV}={name}") for name in PROFILES),
    pytest.param(
        (), {"CI": "true", PROFILE_ENV: DEV_PROFILE}, DEV_PROFILE, id="CI=true and env dev"
    ),
    pytest.param(
        ("--hypothesis-profile", THOROUGH_PROFILE),
        {"CI": "true"},
        THOROUGH_PROFILE,
        id="CI=true and option thorough",
    ),
]


@pytest.mark.parametrize(("args", "env", "profile"), CASES)
def test_each_profile_runs_its_documented_number_of_examples(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    env: dict[str, str],
    profile: str,
) -> None:
    calls = _run(pytester, monkeypatch, *args, **env)
    assert len(calls["property"]) == EXPECTED[profile], (profile, len(calls["property"]))
    # A project's own hypothesis tests keep hypothesis's settings unless a profile was
    # loaded for the whole session (option or variable): 100 examples by default and in CI.
    chosen = bool(args) or PROFILE_ENV in env
    plain = EXPECTED[profile] if chosen else HYPOTHESIS_DEFAULT
    assert len(calls["plain"]) == plain, (profile, len(calls["plain"]))


def test_the_ci_profile_draws_the_same_examples_every_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _run(pytester, monkeypatch, CI="true")["property"]
    again = _run(pytester, monkeypatch, CI="true")["property"]
    assert len(first) == EXPECTED[CI_PROFILE]
    assert first == again


def test_profile_settings_and_selection_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    from hypothesis import settings

    register_profiles()
    assert settings.get_profile(CI_PROFILE).derandomize is True
    assert settings.get_profile(CI_PROFILE).database is None
    assert settings.get_profile(DEV_PROFILE).deadline is None
    for name, count in EXPECTED.items():
        assert settings.get_profile(name).max_examples == count
    # hypothesis's own "ci" is not replaced (a project's own hypothesis tests keep it)
    assert settings.get_profile("ci").max_examples == HYPOTHESIS_DEFAULT
    previous = settings.get_current_profile_name()
    try:
        for current, env, expected in (
            ("default", {}, DEV_PROFILE),
            ("default", {"CI": "true"}, CI_PROFILE),
            ("ci", {}, CI_PROFILE),
            ("ci", {PROFILE_ENV: THOROUGH_PROFILE}, THOROUGH_PROFILE),
            ("default", {PROFILE_ENV: "ci"}, CI_PROFILE),
            (THOROUGH_PROFILE, {"CI": "true"}, THOROUGH_PROFILE),
        ):
            monkeypatch.delenv("CI", raising=False)
            monkeypatch.delenv(PROFILE_ENV, raising=False)
            for key, value in env.items():
                monkeypatch.setenv(key, value)
            settings.load_profile(current)
            assert property_profile() == expected, (current, env)
    finally:
        settings.load_profile(previous)
