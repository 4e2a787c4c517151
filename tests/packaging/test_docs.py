"""The user documentation against the code, so that it cannot drift.

- docs/configuration.md: every pytest option and ini key of the plugin, every option of
  every ``nats-harness`` subcommand (in that subcommand's section), every environment
  variable a module of ``harness/`` reads.
- docs/scenario-reference.md: every field of every scenario model (fault steps and
  triggers included) with its default, every checker parameter with its default, and the
  error messages it shows, produced by loading the files it shows.
- docs/cookbook.md: a recipe per fault kind, each linking a runnable test file that exists.
- every relative link of the user guides points at a file that exists.
"""

from __future__ import annotations

import argparse
import inspect
import re
from pathlib import Path

import pytest
from docs_support import (
    DOCS,
    ROOT,
    environ_reads,
    plugin_options,
    render_default,
    scenario_models,
    sections,
    table_rows,
)

from nats_fault_harness.cli import build_parser
from nats_fault_harness.proxy._main import build_parser as proxy_parser

CONFIG = DOCS / "configuration.md"
SCENARIOS = DOCS / "scenario-reference.md"
COOKBOOK = DOCS / "cookbook.md"
GUIDES = [
    DOCS / "getting-started.md",
    CONFIG,
    SCENARIOS,
    COOKBOOK,
    DOCS / "real-toxiproxy.md",
]


def _section(text: str, needle: str) -> str:
    found = [body for heading, body in sections(text).items() if needle in heading]
    assert len(found) == 1, f"expected one section whose heading has {needle!r}, got {found}"
    return found[0]


# ---------------------------------------------------------------------- configuration.md
def test_every_pytest_option_and_ini_key_is_documented() -> None:
    text = CONFIG.read_text()
    options, ini = plugin_options()
    assert options
    assert ini
    for names, kwargs in options:
        if kwargs.get("help") == argparse.SUPPRESS:
            continue
        for name in names:
            assert f"`{name}" in text, f"pytest option {name} is not in {CONFIG.name}"
    for key in ini:
        assert f"`{key}`" in text, f"ini key {key} is not in {CONFIG.name}"


def _cli_parsers() -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    parsers = dict(action.choices)
    parsers["toxiproxy"] = proxy_parser("nats-harness toxiproxy")
    return parsers


@pytest.mark.parametrize("command", sorted(_cli_parsers()))
def test_every_cli_option_is_documented_under_its_command(command: str) -> None:
    section = _section(CONFIG.read_text(), f"`nats-harness {command}")
    for action in _cli_parsers()[command]._actions:
        if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
            continue
        if action.option_strings:
            for name in action.option_strings:
                assert f"`{name}" in section, f"nats-harness {command} {name} is not documented"
        else:
            name = str(action.metavar or action.dest)
            assert f"`{name.lower()}`" in section.lower(), (
                f"nats-harness {command}: argument {name} is not documented"
            )


def test_every_environment_variable_is_documented() -> None:
    reads = environ_reads()
    assert {"NATS_SERVER_BIN", "TOXIPROXY_URL", "NATS_FAULT_HARNESS_STATE"} <= set(reads)
    section = _section(CONFIG.read_text(), "Environment variables")
    rows = table_rows(section)
    missing = {name: module for name, module in reads.items() if name not in rows}
    assert not missing, f"environment variables read in harness/ but not documented: {missing}"


# ---------------------------------------------------------------------- scenario-reference.md
@pytest.mark.parametrize("model", scenario_models(), ids=lambda m: m.__name__)
def test_every_scenario_field_is_documented_with_its_default(model: type) -> None:
    section = _section(SCENARIOS.read_text(), f"`{model.__name__}`")
    rows = table_rows(section)
    fields = model.model_fields  # type: ignore[attr-defined]
    for name, info in fields.items():
        assert name in rows, f"{model.__name__}.{name} is not in {SCENARIOS.name}"
        assert rows[name][2] == render_default(info), (
            f"{model.__name__}.{name}: the default is {render_default(info)}, "
            f"the reference says {rows[name][2]}"
        )
    extra = set(rows) - set(fields) - {"field"}
    assert not extra, f"{model.__name__} has no field(s) {sorted(extra)}"


def test_every_fault_kind_has_a_section() -> None:
    from nats_fault_harness.scenario import FAULT_KINDS

    headings = "\n".join(sections(SCENARIOS.read_text()))
    for kind in FAULT_KINDS:
        assert f"#### `{kind}` (" in headings, kind


def _checker_params() -> list[tuple[str, str, object]]:
    from nats_fault_harness.checkers._registry import CHECKERS

    return [
        (name, p.name, p.default)
        for name, func in CHECKERS.items()
        for p in inspect.signature(func).parameters.values()
        if p.name != "history"
    ]


@pytest.mark.parametrize(("checker", "param", "default"), _checker_params())
def test_every_checker_parameter_is_documented(checker: str, param: str, default: object) -> None:
    from pydantic.fields import FieldInfo

    section = _section(SCENARIOS.read_text(), f"#### `{checker}`")
    rows = table_rows(section)
    assert param in rows, f"checker {checker}: parameter {param} is not documented"
    shown = (
        "required"
        if default is inspect.Parameter.empty
        else render_default(FieldInfo(default=default))
    )
    assert rows[param][1] == shown, (checker, param, rows[param][1], shown)


_EXAMPLE = re.compile(r"<!-- error-example -->\s*```yaml\n(.*?)```\s*```text\n(.*?)```", re.S)


def test_error_examples_are_what_loading_the_file_says() -> None:
    from nats_fault_harness.scenario import ScenarioError, parse_scenario

    examples = _EXAMPLE.findall(SCENARIOS.read_text())
    assert len(examples) >= 5
    for source, expected in examples:
        with pytest.raises(ScenarioError) as info:
            parse_scenario(source, "scenarios/bad.yaml")
        assert str(info.value) == expected.strip(), source


# ---------------------------------------------------------------------- cookbook.md
COOKBOOK_FAULTS = (
    "latency",
    "bandwidth",
    "blackhole",
    "drop",
    "reset",
    "down",
    "slow_close",
    "limit_data",
    "slice",
    "frames",
    "break_members",
    "break_by_name",
    "kill",
    "stop",
    "pause",
    "lame_duck",
    "restart",
    "partition",
    "one_way",
    "isolate",
)


def test_cookbook_has_a_recipe_per_fault_with_a_runnable_file() -> None:
    recipes = {h: body for h, body in sections(COOKBOOK.read_text()).items() if h.startswith("## ")}
    for fault in COOKBOOK_FAULTS:
        matching = [body for heading, body in recipes.items() if f"`{fault}`" in heading]
        assert matching, f"no recipe for {fault} in {COOKBOOK.name}"
        body = matching[0]
        assert "```python" in body or "```yaml" in body, f"recipe {fault} has no snippet"
        links = re.findall(r"\]\(\.\./(tests/[^)#]+\.py)", body)
        assert links, f"recipe {fault} links no runnable test file"
        for link in links:
            assert (ROOT / link).is_file(), f"recipe {fault} links {link}, which does not exist"


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_relative_links_point_at_files_that_exist(guide: Path) -> None:
    text = guide.read_text()
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (guide.parent / target).exists(), f"{guide.name} links {target}"


# ---------------------------------------------------------------------- getting-started.md
def test_getting_started_shows_the_project_the_wheel_test_runs() -> None:
    template = ROOT / "tests" / "packaging" / "outside_project"
    doc = (DOCS / "getting-started.md").read_text()
    python = re.findall(r"```python\n(.*?)```", doc, re.S)
    assert python == [
        (template / "test_faults.py").read_text(),
        (template / "mysvc.py").read_text(),
    ]
    (scenario,) = re.findall(
        r"```yaml\n# scenarios/publish-under-latency.yaml\n(.*?)```", doc, re.S
    )
    assert scenario == (template / "scenarios" / "publish-under-latency.yaml").read_text()
    (claims,) = re.findall(r"```yaml\n# scenarios/claims.yaml\n(.*?)```", doc, re.S)
    assert claims in (template / "scenarios" / "claims.yaml").read_text()


def test_the_limits_table_is_the_code() -> None:
    from nats_fault_harness.scenario import _base, _errors, _yaml

    rows = table_rows(_section(SCENARIOS.read_text(), "## Limits"))
    expected = {
        "file size": f"{_yaml.MAX_CHARS} bytes",
        "values": str(_yaml.MAX_NODES),
        "nesting": f"{_yaml.MAX_DEPTH} levels",
        "integer literal": f"{_yaml.MAX_INT_CHARS} characters",
        "list items": str(_base.MAX_ITEMS),
        "seconds": f"{_base.MAX_SECONDS:g}",
        "milliseconds": str(_base.MAX_MS),
        "counts": str(_base.MAX_COUNT),
        "rates": f"{_base.MIN_RATE} to {_base.MAX_RATE:.0f} per second",
        "payload": f"{_base.MAX_PAYLOAD} bytes",
        "bytes": str(_base.MAX_BYTES),
        "bandwidth": f"{_base.MAX_KB_PER_S} KB/s",
        "topology size": str(_base.MAX_SIZE),
        "seed": str(_base.MAX_SEED),
        "problems shown": str(_errors.MAX_SHOWN),
    }
    for name, value in expected.items():
        assert name in rows, f"the limit {name!r} is not in the Limits table"
        assert rows[name][1].split(" (")[0] == value, (name, rows[name][1], value)
