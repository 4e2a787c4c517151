"""Docs whose code is run: every marked code block is a file the test suite runs.

A block preceded by ``<!-- runs: PATH -->`` must be the whole of ``PATH`` (a test file, or a
script a test file beside it runs). On the pages of :data:`ALL_RUN` every code block must be
marked. The tables of those pages are compared with the code they describe.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from docs_support import DOCS, ROOT, sections, table_rows

from nats_fault_harness.faults import FaultLog, FaultyCluster, Link
from nats_fault_harness.history import History
from nats_fault_harness.servers import NatsServer

ALL_RUN = [DOCS / "records.md", DOCS / "building-blocks.md"]
_MARKED = re.compile(r"<!-- runs: (\S+) -->\n```\w*\n(.*?)```", re.S)
_FENCE = re.compile(r"^```\w*$", re.M)


def _blocks(page: Path) -> list[tuple[str, str]]:
    return _MARKED.findall(page.read_text())


@pytest.mark.parametrize("page", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_every_marked_block_is_the_file_it_names(page: Path) -> None:
    for path, block in _blocks(page):
        file = ROOT / path
        assert file.is_file(), f"{page.name} runs {path}, which does not exist"
        assert block == file.read_text(), f"{page.name}: the block differs from {path}"
        if not file.name.startswith("test_"):
            runners = [t for t in file.parent.glob("test_*.py") if file.name in t.read_text()]
            assert runners, f"{path} is shown in {page.name} but no test file runs it"


@pytest.mark.parametrize("page", ALL_RUN, ids=lambda p: p.name)
def test_every_code_block_of_the_page_is_run(page: Path) -> None:
    text = page.read_text()
    fences = len(_FENCE.findall(text))
    assert fences % 2 == 0
    assert fences // 2 == len(_blocks(page)) >= 1, f"{page.name} has a code block not run"


@pytest.mark.parametrize("page", ALL_RUN, ids=lambda p: p.name)
def test_relative_links_exist_and_the_readme_lists_the_page(page: Path) -> None:
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
        if "://" not in target:
            assert (page.parent / target).exists(), f"{page.name} links {target}"
    assert f"](docs/{page.name})" in (ROOT / "README.md").read_text()


# ---------------------------------------------------------------------- records.md
def test_records_page_names_every_checker_and_the_history_api() -> None:
    from nats_fault_harness.checkers import CHECKERS

    text = (DOCS / "records.md").read_text()
    (table,) = [b for h, b in sections(text).items() if "What each checker reads" in h]
    rows = re.findall(r"^\| `(\w+)` \(`check_\1`", table, re.M)
    assert sorted(rows) == sorted([*CHECKERS, "evidence"]), "the records table's checkers"
    public = [n for n, _ in inspect.getmembers(History) if not n.startswith("_")]
    for name in public:
        assert f"`{name}" in text or f".{name}(" in text, f"History.{name} is not documented"


# ---------------------------------------------------------------------- building-blocks.md
_CALLS: dict[str, Callable[..., Any]] = {
    "latency(ms, jitter=0)": lambda link, **kw: link.latency(10, **kw),
    "bandwidth(kb_per_s)": lambda link, **kw: link.bandwidth(10, **kw),
    "blackhole()": lambda link, **kw: link.blackhole(**kw),
    "drop()": lambda link, **kw: link.drop(**kw),
    "reset()": lambda link, **kw: link.reset(**kw),
    "reset(after_bytes=n)": lambda link, **kw: link.reset(after_bytes=5, **kw),
    "reset_peer(after_ms=0)": lambda link, **kw: link.reset_peer(**kw),
    "down()": lambda link, **kw: link.down(**kw),
    "slow_close(delay_ms)": lambda link, **kw: link.slow_close(10, **kw),
    "slice(average_size, ...)": lambda link, **kw: link.slice(10, **kw),
    "limit_data(bytes)": lambda link, **kw: link.limit_data(10, **kw),
    "frames(verb, ...)": lambda link, **kw: link.frames("PUB", **kw),
}
_EVERY_EXTENSION = frozenset(
    {"nats", "connect_name", "connection_reset", "reset_after", "events", "seed"}
)


def _link(extensions: frozenset[str]) -> Link:
    # faults are built, never applied: the API is not called
    return Link(object(), "p", "127.0.0.1:1", FaultLog(History()), extensions=extensions)  # type: ignore[arg-type]


def _direction_rows() -> dict[str, list[str]]:
    text = (DOCS / "building-blocks.md").read_text()
    (table,) = [b for h, b in sections(text).items() if "Which direction" in h]
    rows = table_rows(table)
    rows.pop("fault")
    return rows


def test_the_direction_table_has_every_link_fault() -> None:
    methods = {
        name
        for name, func in inspect.getmembers(Link, inspect.isfunction)
        if not name.startswith("_") and name != "toxic"
    }
    assert {call.split("(")[0] for call in _direction_rows()} == methods
    assert set(_direction_rows()) == set(_CALLS)


@pytest.mark.parametrize("call", sorted(_CALLS))
def test_the_direction_table_is_the_code(call: str) -> None:
    row = _direction_rows()[call]
    default, by_name, extension = row[1], row[2], row[3]
    fault = _CALLS[call](_link(_EVERY_EXTENSION))
    if default.startswith("(none"):
        assert "stream" not in fault.params
    else:
        assert f"`{fault.params['stream']}`" == default, (call, fault.params)
    takes_name = "connect_name" in inspect.signature(getattr(Link, call.split("(")[0])).parameters
    assert by_name == ("yes" if takes_name else "no")
    if extension == "-":
        _CALLS[call](_link(frozenset()))  # works without any extension
    else:
        with pytest.raises(Exception, match=f"extension '{extension.strip('`')}'"):
            _CALLS[call](_link(_EVERY_EXTENSION - {extension.strip("`")}))


def test_the_cluster_table_names_real_attributes() -> None:
    text = (DOCS / "building-blocks.md").read_text()
    (table,) = [b for h, b in sections(text).items() if "nats_faulty_cluster" in h]
    names = re.findall(r"`cluster(\[i\])?\.(\w+)", table)
    names += [("[i]", n) for n in re.findall(r", `?\.(\w+)`", table)]
    assert len(names) >= 10
    for node, name in names:
        owner = NatsServer if node else FaultyCluster
        init = inspect.getsource(owner.__init__)
        assert hasattr(owner, name) or re.search(rf"self\.{name}\b\s*[:=]", init), (owner, name)


# ---------------------------------------------------------------------- URLs in messages
def test_every_doc_url_of_the_package_names_a_page_that_exists() -> None:
    pages = []
    for path in (ROOT / "harness" / "nats_fault_harness").rglob("*.py"):
        pages += re.findall(r"doc_url\(['\"]([^'\"]+)['\"]", path.read_text())
    assert pages
    for page in pages:
        assert (DOCS / page).is_file(), page
