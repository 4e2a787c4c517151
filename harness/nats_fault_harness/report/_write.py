"""Writing a report: the environment it ran in, the HTML file and the JSON beside it."""

from __future__ import annotations

import json
import os
import platform
import shlex
import time
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from nats_fault_harness._version import __version__
from nats_fault_harness.report._json import entry_from_dict, json_path_for, json_text
from nats_fault_harness.report._model import Environment, Report, TestEntry

__all__ = ["assemble", "environment", "replace_text", "write_report"]


def _package(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _nats_server(binary: str | None) -> str:
    try:
        from nats_fault_harness.servers import binary_version, find_binary

        return binary_version(find_binary(binary))
    except Exception as exc:  # a report is still useful without the server's version
        return f"unknown ({type(exc).__name__})"


def environment(
    *,
    seeds: Iterable[int] = (),
    command: str = "",
    started: float | None = None,
    binary: str | None = None,
) -> Environment:
    """Versions (nats-server, nats-py, harness, Python), seeds and the command line."""
    begun = time.time() if started is None else started
    return Environment(
        harness=__version__,
        nats_py=_package("nats-py"),
        nats_server=_nats_server(binary),
        python=platform.python_version(),
        platform=platform.platform(terse=True),
        seeds=tuple(sorted(set(seeds))),
        command=command,
        started=time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(begun)),
        duration_s=round(time.time() - begun, 3),
    )


def assemble(
    config: Any, raw_entries: Iterable[str], errors: Iterable[TestEntry], started: float
) -> Report:
    """The report of a pytest session from its entries (JSON text, as workers send them)."""
    entries = [*errors, *(entry_from_dict(json.loads(raw)) for raw in raw_entries)]
    seeds = {e.seed for e in entries if e.seed is not None}
    option_seed = config.getoption("toxiproxy_seed", None)
    if isinstance(option_seed, int):
        seeds.add(option_seed)
    command = config.getoption("fault_report_command", None) or shlex.join(
        ["pytest", *config.invocation_params.args]
    )
    binary = config.getoption("nats_server_bin", None) or config.getini("nats_server_bin")
    env = environment(
        seeds=seeds, command=str(command), started=started, binary=str(binary) if binary else None
    )
    return Report(env, tuple(entries))


def write_report(report: Report, path: Path) -> tuple[Path, Path]:
    """Write the HTML to ``path`` and the JSON beside it (``x.html`` -> ``x.json``).

    The JSON is written first (it holds everything and the HTML can be rendered again
    from it), each file whole or not at all: written beside its place, then renamed, so an
    error never leaves an empty or half file.
    """
    from nats_fault_harness.report._render import render_html

    html = path if path.suffix != ".json" else path.with_suffix(".html")
    data = json_path_for(html)
    html.parent.mkdir(parents=True, exist_ok=True)
    replace_text(data, json_text(report))
    replace_text(html, render_html(report))
    return html, data


def replace_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a temporary file beside it, then a rename)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8", errors="replace")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
