"""Scenario files as pytest items, driven through pytester in a subprocess."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

CLAIMS = "fix.typed-errors.request: request() raises NATSRequestError.\n"

VALID = """\
name: quick-requests
claims: [fix.typed-errors.request]
workload:
  requests: {count: 3, subject: harness.rpc.quick, timeout_s: 0.5, responder: false}
checkers:
  - name: exceptions
    params: {f: request, expected_types: [NATSRequestError]}
markers: [exceptions]
"""

INVALID = """\
name: broken
claims: [fix.typed-errors.request]
faults:
  - fault: latency
    ms: -5
checkers:
  - name: accounting
"""


def _layout(pytester: pytest.Pytester, files: dict[str, str]) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = strict\n")
    folder = pytester.mkdir("scenarios")
    (folder / "claims.yaml").write_text(CLAIMS)
    for name, text in files.items():
        (folder / name).write_text(text)


def test_invalid_scenario_fails_collection_with_path_line_and_field(
    pytester: pytest.Pytester,
) -> None:
    _layout(pytester, {"broken.yaml": INVALID})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "scenarios")
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert "invalid scenario file:" in out
    assert "scenarios/broken.yaml:5: faults[0].ms: expected a non-negative integer, got -5" in out
    assert "Traceback" not in out


def test_valid_scenario_is_collected_selected_and_run(pytester: pytest.Pytester) -> None:
    _layout(pytester, {"quick.yaml": VALID, "broken.yaml": INVALID})
    collected = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--collect-only", "-q", "scenarios/quick.yaml"
    )
    collected.stdout.fnmatch_lines(["scenarios/quick.yaml::quick-requests"])
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "scenarios/quick.yaml", "-m", "exceptions", "-k", "quick"
    )
    result.assert_outcomes(passed=1)


def test_unknown_sut_is_reported_by_name(pytester: pytest.Pytester) -> None:
    _layout(pytester, {"quick.yaml": VALID})
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "scenarios", "--sut", "no_such_module:make"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no_such_module:make*cannot import module*"])


WRONG_CLAIM = """\
name: pool-claims-a-broken-member
claims: [fix.typed-errors.request]
topology: {kind: pool, size: 2}
service: {pool_size: 2}
workload:
  publishes: {count: 4, batched: true}
checkers:
  - name: pool
    params: {broken: [1]}
  - name: accounting
"""


def test_failed_verdict_fails_the_item_naming_what_was_wrong(pytester: pytest.Pytester) -> None:
    _layout(pytester, {"wrong.yaml": WRONG_CLAIM})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "scenarios")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "scenario 'pool-claims-a-broken-member'" in out
    assert "pool: INVALID: outcome 'full', expected 'partial'" in out
    assert "failed members []: unreported ['1']" in out
    assert "accounting: " not in out  # valid results are not listed
