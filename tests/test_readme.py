"""The README's scenario table is the one the scenario files give (no silent drift)."""

from __future__ import annotations

from readme_table import HEADER, ROOT, table


def test_the_readme_scenario_table_matches_the_scenario_files() -> None:
    readme = ROOT.joinpath("README.md").read_text()
    start = readme.index(HEADER)
    end = readme.index("\n\n", start)
    assert readme[start:end] == table(), (
        "the README's scenario table is out of date; regenerate it with "
        "`python tests/readme_table.py`"
    )
