"""Every claim of the remediation document is verified by at least one scenario."""

from __future__ import annotations

from collections import defaultdict

from readme_table import ROOT, scenario_files

from nats_fault_harness.scenario import load_claims, load_scenario


def test_every_claim_has_a_scenario() -> None:
    claims = load_claims(ROOT / "scenarios" / "claims.yaml")
    covered: dict[str, list[str]] = defaultdict(list)
    for path in scenario_files():
        scenario = load_scenario(path, claims)  # also refuses claim ids not in the catalogue
        for claim in scenario.claims:
            covered[claim].append(scenario.name)
    uncovered = [c for c in claims.ids() if not covered[c]]
    assert not uncovered, f"claims without a scenario: {uncovered}"
    assert len(claims.ids()) == 34
