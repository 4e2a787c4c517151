"""The README's scenario table lists every scenario of the library (no silent drift)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_every_scenario_has_a_row_in_the_readme_table() -> None:
    readme = ROOT.joinpath("README.md").read_text()
    rows = {line.split("|")[1].strip().strip("`") for line in readme.splitlines()
            if line.startswith("| `")}
    names = {yaml.safe_load(p.read_text())["name"] for p in ROOT.glob("scenarios/**/*.yaml")
             if p.name != "claims.yaml"}
    assert names, "the scenario library is empty"
    missing = sorted(names - rows)
    assert not missing, f"scenarios without a README row: {missing}"
