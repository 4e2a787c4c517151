"""The README's scenario table, generated from the scenario files.

``python tests/readme_table.py`` prints it; ``tests/test_readme.py`` fails when the
README's copy differs, so the table cannot drift from the library.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
HEADER = "| scenario | claims | fault (trigger) | checkers |\n|---|---|---|---|"


def _number(value: float) -> str:
    return f"{value:g}"


def _trigger(trigger: dict[str, Any]) -> str:
    if "after" in trigger:
        text = f"after {trigger['after']} #{trigger.get('nth', 1)}"
    else:
        text = f"at {_number(trigger.get('at_s', 0.0))} s"
    if trigger.get("for_s") is not None:
        text += f" for {_number(trigger['for_s'])} s"
    return text


def _fault(step: dict[str, Any]) -> str:
    kind = step["fault"]
    if kind == "frames":
        kind = f"frames {step['verb']} {step.get('action', 'drop')}"
    return f"{kind} ({_trigger(step.get('trigger') or {})})"


def scenario_files() -> list[Path]:
    """Every scenario file of the library."""
    return sorted(p for p in ROOT.glob("scenarios/**/*.yaml") if p.name != "claims.yaml")


def table() -> str:
    """The table, one row per scenario, sorted by name."""
    rows = []
    for path in scenario_files():
        data = yaml.safe_load(path.read_text())
        faults = "; ".join(_fault(s) for s in data.get("faults") or ()) or "none"
        checkers = ", ".join(dict.fromkeys(c["name"] for c in data["checkers"]))
        rows.append(
            (
                data["name"],
                f"| `{data['name']}` | {', '.join(data['claims'])} | {faults} | {checkers} |",
            )
        )
    return "\n".join([HEADER, *(row for _, row in sorted(rows))])


if __name__ == "__main__":
    print(table())
