"""docs/your-service.md against the code and the example it shows, so that it cannot drift.

Every fenced block of the page is accounted for: a file of ``examples/responder/`` shown
verbatim (the files ``test_examples.py`` runs from the installed wheel), the commands that
test runs, the checker message it expects, or a skip message the runner gives for a real
scenario file. The tables are compared with ``CAPABILITIES``, the ``Inputs`` model and
``check_outputs``'s parameters.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from collections.abc import Iterator

import pytest
from docs_support import DOCS, ROOT, render_default, sections, table_rows
from test_examples import RESPONDER, RUN_BROKEN, RUN_GOOD, RUN_TESTS

from nats_fault_harness.checkers._outputs import NON_LOSSY, check_outputs
from nats_fault_harness.scenario import load_claims, load_scenario
from nats_fault_harness.scenario._model import Inputs
from nats_fault_harness.scenario._runner import _fit
from nats_fault_harness.services import CAPABILITIES, CapabilityMissing

PAGE = DOCS / "your-service.md"
FENCE = re.compile(r"(?:^`([^`\n]+)`:\n\n)?^```(\w+)\n(.*?)^```\n", re.M | re.S)


def _blocks() -> list[tuple[str | None, str, str]]:
    """``(file named just above the block, language, body)`` for every fenced block."""
    return [(m.group(1), m.group(2), m.group(3)) for m in FENCE.finditer(PAGE.read_text())]


def _section(needle: str) -> str:
    found = [body for heading, body in sections(PAGE.read_text()).items() if needle in heading]
    assert len(found) == 1, (needle, list(sections(PAGE.read_text())))
    return found[0]


def test_every_code_block_is_accounted_for() -> None:
    text = PAGE.read_text()
    blocks = _blocks()
    assert len(blocks) == text.count("```") // 2, "a fenced block the pattern did not read"
    files = [(name, lang, body) for name, lang, body in blocks if name]
    assert {name for name, _, _ in files} == {
        "examples/responder/pricing.py",
        "examples/responder/adapter.py",
        "examples/responder/pyproject.toml",
        "examples/responder/scenarios/claims.yaml",
        "examples/responder/scenarios/quote-link-reset.yaml",
    }
    for name, _lang, body in files:
        assert body == (ROOT / name).read_text(), f"{PAGE.name}: the block of {name} differs"
    others = [(lang, body) for name, lang, body in blocks if not name]
    assert [lang for lang, _ in others] == ["sh", "text", "text"], others
    commands, defect, skipped = (body for _, body in others)
    assert commands.splitlines() == [" ".join(c) for c in (RUN_GOOD, RUN_BROKEN, RUN_TESTS)]
    assert re.fullmatch(RESPONDER.defect + r".*\n", defect), defect
    assert skipped == _skip_message("publish-link-drop") + "\n"


def _responder_adapter() -> Iterator[object]:
    folder = str(ROOT / "examples" / "responder")
    sys.path.insert(0, folder)
    for name in ("adapter", "pricing"):  # not another project's module of that name
        sys.modules.pop(name, None)
    try:
        yield importlib.import_module("adapter")
    finally:
        sys.path.remove(folder)
        for name in ("adapter", "pricing"):
            sys.modules.pop(name, None)


def _skip_message(scenario: str) -> str:
    claims = load_claims(ROOT / "scenarios" / "claims.yaml")
    loaded = load_scenario(ROOT / "scenarios" / f"{scenario}.yaml", claims)
    for adapter in _responder_adapter():
        with pytest.raises(CapabilityMissing) as caught:
            _fit(loaded, adapter.make())  # type: ignore[attr-defined]
    return f"scenario {scenario!r} not run: {caught.value}"


def test_the_capability_table_is_the_code() -> None:
    rows = table_rows(_section("## Capabilities"))
    for capability, methods in CAPABILITIES.items():
        assert capability in rows, f"capability {capability} is not in {PAGE.name}"
        assert rows[capability][1] == ", ".join(f"`{m}`" for m in methods), capability
    listed = {k for k in rows if k not in ("capability", "method")} - {
        "make_input(endpoint, msg_id) -> bytes",
        "output_id(endpoint, data) -> str \\",
    }
    assert listed == set(CAPABILITIES), listed


def test_the_inputs_table_is_the_model() -> None:
    rows = table_rows(_section("`workload.inputs`"))
    fields = Inputs.model_fields
    assert set(rows) - {"field"} == set(fields)
    for name, info in fields.items():
        assert rows[name][1] == render_default(info), name


def test_the_outputs_checker_section_is_the_code() -> None:
    section = _section("The `outputs` checker")
    rows = table_rows(section)
    params = {n: p for n, p in inspect.signature(check_outputs).parameters.items()}
    params.pop("history")
    assert set(rows) - {"param"} == set(params)
    for name, param in params.items():
        default = param.default
        shown = str(default).lower() if isinstance(default, bool) else repr(default)
        assert rows[name][1] == f"`{shown}`", name
    kinds = re.search(r"every kind except\s+(.*?), whose bytes", section, re.S)
    assert kinds is not None
    assert set(re.findall(r"`(\w+)`", kinds.group(1))) == set(NON_LOSSY)


def test_the_page_is_linked_and_its_links_exist() -> None:
    assert "(docs/your-service.md)" in (ROOT / "README.md").read_text()
    text = PAGE.read_text()
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" not in target:
            assert (PAGE.parent / target).exists(), f"{PAGE.name} links {target}"
