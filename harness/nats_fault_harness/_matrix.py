"""``nats-harness matrix``: the scenario library against several clients, as one table.

Each client is one ``nats-harness run`` of the same scenarios (a child process of its own,
so every run has its own workers, servers and proxies), with its JSON summary and fault
report in the output folder. The table has a row per scenario and a column per client;
a cell is the verdict with its one-line reason. It is written three ways: ``matrix.md``
(markdown), ``matrix.json`` and ``matrix-report.html`` (with its JSON), the fault report
of every run together with the table as its first section (the entries' ids are prefixed
with ``[client]``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

__all__ = ["PRESETS", "Column", "build_matrix", "markdown", "matrix_main"]

PRESETS = {
    "reference": "nats_fault_harness.scenario.reference_sut:make_reference_sut",
    "nats-py": "nats_fault_harness.services:natspy_client",
    "nats.js": "nats_fault_harness.services:natsjs_client",
}
"""Client names ``--client`` accepts, and their ``--sut`` factories."""
SCHEMA = "nats-fault-harness/matrix"
REASON_CHARS = 160


@dataclass(frozen=True)
class Column:
    """One client of the matrix: its name, its ``--sut`` spec and its run's files."""

    name: str
    sut: str
    summary: Path
    report: Path
    exit_code: int | None = None


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "client"


def reason(row: dict[str, Any]) -> str:
    """The one-line reason of a summary row: the first line of its message, shortened."""
    if row.get("verdict") == "valid":
        return ""
    text = str(row.get("message") or "")
    if row.get("verdict") == "ERROR":  # a traceback: its last "E   " line is the error
        errors = [ln[1:].strip() for ln in text.splitlines() if ln.startswith("E ")]
        if errors:
            text = errors[-1].rsplit(".", 1)[-1] if ": " not in errors[-1] else errors[-1]
            text = re.sub(r"^[\w.]+\.(\w+: )", r"\1", text)
    for line in text.splitlines():
        line = " ".join(line.split())
        line = line.split(" not run: ", 1)[-1]  # a skip: "scenario 'x' not run: <why>"
        if line:
            return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 1] + "…"
    return ""


def build_matrix(columns: Sequence[Column]) -> dict[str, Any]:
    """The matrix as JSON-able data from the columns' run summaries."""
    order: list[str] = []
    cells: dict[str, dict[str, dict[str, str]]] = {}
    clients = []
    for col in columns:
        rows: list[dict[str, Any]] = []
        if col.summary.is_file():
            rows = list(json.loads(col.summary.read_text(encoding="utf-8")).get("scenarios", []))
        clients.append(
            {
                "name": col.name,
                "sut": col.sut,
                "summary": str(col.summary),
                "report": str(col.report),
                "exit_code": col.exit_code,
            }
        )
        for row in rows:
            scenario = str(row["id"]).split("::")[-1]
            if scenario not in cells:
                order.append(scenario)
                cells[scenario] = {}
            cells[scenario][col.name] = {"verdict": str(row["verdict"]), "reason": reason(row)}
    missing = {"verdict": "missing", "reason": "the client's run did not reach it"}
    return {
        "schema": SCHEMA,
        "version": 1,
        "clients": clients,
        "rows": [
            {
                "scenario": s,
                "cells": {c.name: cells[s].get(c.name, missing) for c in columns},
            }
            for s in order
        ],
    }


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(data: dict[str, Any]) -> str:
    """The matrix as a markdown table (and a line of totals per client)."""
    names = [c["name"] for c in data["clients"]]
    lines = [
        "| scenario | " + " | ".join(_md(n) for n in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for row in data["rows"]:
        out = []
        for name in names:
            cell = row["cells"][name]
            verdict = cell["verdict"]
            text = f"**{verdict}**" if verdict not in ("valid", "skipped") else verdict
            out.append(text + (f": {_md(cell['reason'])}" if cell["reason"] else ""))
        lines.append(f"| `{row['scenario']}` | " + " | ".join(out) + " |")
    lines.append("")
    for name in names:
        counts: dict[str, int] = {}
        for row in data["rows"]:
            v = row["cells"][name]["verdict"]
            counts[v] = counts.get(v, 0) + 1
        lines.append(f"- {name}: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())))
    return "\n".join(lines) + "\n"


def _html(columns: Sequence[Column], data: dict[str, Any], path: Path, command: str) -> None:
    """The fault reports of every run together, the matrix as their first section."""
    from nats_fault_harness.report._json import read_report
    from nats_fault_harness.report._model import Matrix, MatrixCell, MatrixRow, Report
    from nats_fault_harness.report._write import environment, write_report

    tests = []
    for col in columns:
        if not col.report.with_suffix(".json").is_file():
            continue
        part = read_report(col.report.with_suffix(".json"))
        for entry in part.tests:
            tests.append(_renamed(entry, f"[{col.name}] {entry.nodeid}"))
    names = tuple(c["name"] for c in data["clients"])
    matrix = Matrix(
        names,
        tuple(
            MatrixRow(
                row["scenario"],
                tuple(
                    MatrixCell(row["cells"][n]["verdict"], row["cells"][n]["reason"])
                    for n in names
                ),
            )
            for row in data["rows"]
        ),
    )
    report = Report(environment(command=command), tuple(tests), "NATS client matrix", matrix)
    write_report(report, path)


def _renamed(entry: Any, nodeid: str) -> Any:
    return replace(entry, nodeid=nodeid)


def _column(name_or_spec: str, out: Path) -> Column:
    name, sut = (name_or_spec, PRESETS[name_or_spec]) if name_or_spec in PRESETS else (
        name_or_spec.rsplit(":", 1)[-1],
        name_or_spec,
    )  # fmt: skip
    slug = _slug(name)
    return Column(name, sut, out / f"{slug}.json", out / f"{slug}-report.html")


def matrix_main(
    paths: Sequence[str],
    *,
    clients: Sequence[str],
    out: Path,
    jobs: str | None,
    selection: Sequence[str] = (),
) -> int:
    """Run ``paths`` against each client; write the matrix; return the exit code.

    Exit codes: 0 the matrix was written (whatever the verdicts: the table is the
    result); 2 a bad argument, or a client whose run could not start at all (its
    column then says ``missing``, and the matrix is still written).
    """
    unknown = [c for c in clients if c not in PRESETS and ":" not in c]
    if unknown:
        print(
            f"nats-harness matrix: unknown client {', '.join(unknown)} (presets: "
            f"{', '.join(PRESETS)}; or a MODULE:FACTORY)",
            file=sys.stderr,
        )
        return 2
    out.mkdir(parents=True, exist_ok=True)
    columns = []
    code = 0
    started = time.monotonic()
    for spec in clients:
        col = _column(spec, out)
        print(f"nats-harness matrix: {col.name} ({col.sut})", flush=True)
        args = [sys.executable, "-m", "nats_fault_harness.cli", "run", *paths, "--sut", col.sut]
        args += ["--report", str(col.summary), "--fault-report", str(col.report)]
        args += ["-n", jobs] if jobs else []
        args += list(selection)
        proc = subprocess.run(args, check=False, env=dict(os.environ))
        if proc.returncode not in (0, 1):
            code = 2
        columns.append(Column(col.name, col.sut, col.summary, col.report, proc.returncode))
    data = build_matrix(columns)
    command = " ".join(["nats-harness", "matrix", *paths, *(f"--client {c}" for c in clients)])
    data["command"] = command
    data["elapsed_s"] = round(time.monotonic() - started, 1)
    (out / "matrix.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    (out / "matrix.md").write_text(markdown(data), encoding="utf-8")
    _html(columns, data, out / "matrix-report.html", command)
    print(markdown(data), flush=True)
    print(f"matrix written to {out / 'matrix.md'}, matrix.json and matrix-report.html", flush=True)
    return code

