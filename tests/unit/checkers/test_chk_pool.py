"""Pool: full / partial / none reported truthfully, fallback, graceful degradation."""

from __future__ import annotations

from typing import Any

import pytest
from chk_records import Rec

from nats_fault_harness.checkers import UNKNOWN, check_pool

NAMES = ["svc-pool-0", "svc-pool-1", "svc-pool-2"]


def _init(rec: Rec, connected: list[str], failed: dict[str, str], **extra: Any) -> None:
    rec.event("pool_initialized", t=1.0, size=3, connected=connected, failed=failed, **extra)
    rec.at(2.0).publish("m1")


@pytest.mark.parametrize(
    ("broken", "outcome"), [([], "full"), (["svc-pool-1"], "partial"), (NAMES[1:], "partial")]
)
def test_truthful_report_is_valid(rec: Rec, broken: list[str], outcome: str) -> None:
    _init(
        rec,
        [n for n in NAMES if n not in broken],
        {n: "ConnectionRefusedError: refused" for n in broken},
    )
    r = check_pool(rec.h, broken=broken, size=3)
    assert r.valid is True, r.message
    assert r.details["outcome"] == outcome


def test_none_requires_fallback_and_disabled(rec: Rec) -> None:
    failed = {n: "timeout" for n in NAMES}
    _init(rec, [], failed, fallback=True, enabled=False)
    r = check_pool(rec.h, broken=NAMES)
    assert r.valid is True, r.message
    assert r.details["outcome"] == "none"
    silent = Rec()
    _init(silent, [], failed, enabled=True)
    r = check_pool(silent.h, broken=NAMES)
    assert r.valid is False
    assert r.message == (
        "pool failed entirely but no fallback connection was reported; "
        "pool failed entirely but is reported enabled"
    )


def test_silently_ignored_failure_is_invalid(rec: Rec) -> None:
    # the anti-pattern: one member broke, the report says all connected and nothing failed
    _init(rec, NAMES, {})
    r = check_pool(rec.h, broken=["svc-pool-1"])
    assert r.valid is False
    assert r.details["problems"] == [
        "outcome 'full', expected 'partial'",
        "3 connected ['svc-pool-0', 'svc-pool-1', 'svc-pool-2'], expected 2",
        "failed members []: unreported ['svc-pool-1'], unexpected []",
        "broken members listed as connected: ['svc-pool-1']",
    ]


def test_failure_without_reason_and_wrong_member(rec: Rec) -> None:
    _init(rec, ["svc-pool-0", "svc-pool-1"], {"svc-pool-2": ""})
    r = check_pool(rec.h, broken=["svc-pool-1"])
    assert r.valid is False
    assert (
        "failed members ['svc-pool-2']: unreported ['svc-pool-1'], unexpected ['svc-pool-2']"
        in (r.message)
    )
    assert "failed members without a reason: ['svc-pool-2']" in r.message


def test_no_report_or_two_reports_is_invalid(rec: Rec) -> None:
    assert check_pool(rec.h).message == "expected one pool_initialized event, got 0 []"
    _init(rec, NAMES, {})
    _init(rec, NAMES, {})
    assert check_pool(rec.h).valid is False


def test_degradation_needs_a_successful_publish_after_init(rec: Rec) -> None:
    rec.event("pool_initialized", t=1.0, size=3, connected=NAMES[:2], failed={NAMES[2]: "x"})
    assert check_pool(rec.h, broken=NAMES[2:]).valid == UNKNOWN
    rec.at(2.0).publish("m1", "fail", ConnectionError("down"))
    r = check_pool(rec.h, broken=NAMES[2:])
    assert r.valid is False
    assert r.message == "none of 1 publishes after initialization succeeded"
    assert check_pool(rec.h, broken=NAMES[2:], require_publishes=False).valid is True
    rec.at(3.0).publish("m2")
    assert check_pool(rec.h, broken=NAMES[2:]).valid is True


def test_configured_size_mismatch(rec: Rec) -> None:
    _init(rec, NAMES, {})
    r = check_pool(rec.h, size=4)
    assert r.valid is False
    assert "reported size 3, configured 4" in r.message
