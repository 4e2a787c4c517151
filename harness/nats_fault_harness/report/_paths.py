"""Where ``nats-harness run`` writes: unique stamped names, no two outputs on one file, retention.

A run writes three files: the JSON summary, the HTML fault report and the report's JSON
beside it (``x.html`` -> ``x.json``). By default they land in ``reports/`` as
``run-<date>-<time>-<pid>.json``, ``...-report.html`` and ``...-report.json``; the summary
name is claimed with an exclusive create (a counter is added if it is taken), so two runs
started in the same second, in one folder, never write over each other. Options that would
make two of the three outputs one file are refused before anything runs. Only the newest
``keep`` runs of the default folder are kept (:func:`prune_runs`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_FOLDER", "KEEP_RUNS", "RunPaths", "claim_run_paths", "clash", "prune_runs"]

DEFAULT_FOLDER = Path("reports")
#: runs kept in the default folder by default (``--keep-runs``)
KEEP_RUNS = 20
#: a run whose summary is still empty (running) is left alone until it is this old
_RUNNING_S = 24 * 3600.0


@dataclass(frozen=True)
class RunPaths:
    """The three files of one run."""

    summary: Path
    html: Path
    data: Path


def _report_files(html: Path) -> tuple[Path, Path]:
    """The HTML and JSON a fault report asked at ``html`` is written to (see write_report)."""
    page = html.with_suffix(".html") if html.suffix == ".json" else html
    return page, page.with_suffix(".json")


def _beside(summary: Path) -> Path:
    return summary.with_name(f"{summary.stem}-report.html")


def clash(report: Path | None, fault_report: Path | None) -> str | None:
    """Why ``--report`` and ``--fault-report`` cannot both be written, or None.

    The fault report's JSON goes beside its HTML (``X.html`` -> ``X.json``), so
    ``--report X.json --fault-report X.html`` would write the summary and the report's data
    to one file, and the last writer would silently win.
    """
    if report is None or fault_report is None:
        return None
    page, data = _report_files(fault_report)
    same = report.resolve()
    for what, path in (("its HTML", page), ("its JSON", data)):
        if same == path.resolve():
            return (
                f"--report {report} and --fault-report {fault_report} name the same file: "
                f"the fault report writes {what} to {path}; give one of them another name"
            )
    return None


def claim_run_paths(
    report: Path | None, fault_report: Path | None, folder: Path = DEFAULT_FOLDER
) -> RunPaths:
    """The run's three paths; a default summary name is created empty, exclusively.

    Given paths are used as they are. A default summary is
    ``folder/run-<YYYYmmdd-HHMMSS>-<pid>.json`` (``-2``, ``-3``... if taken), and the fault
    report goes beside the summary unless ``fault_report`` says otherwise.

    Raises:
        OSError: the folder cannot be created or written.
    """
    summary = report if report is not None else _claim(folder)
    page, data = _report_files(fault_report or _beside(summary))
    return RunPaths(summary, page, data)


def _claim(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"run-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    for n in range(1, 10_000):
        candidate = folder / (f"{stem}.json" if n == 1 else f"{stem}-{n}.json")
        if _beside(candidate).exists():
            continue  # a report of that name without its summary: still not ours
        try:
            with candidate.open("x"):
                return candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"no free run name in {folder} for {stem}")  # pragma: no cover


def _runs(folder: Path) -> list[tuple[float, Path]]:
    """(modification time, summary) of every run in ``folder``, oldest first."""
    runs = []
    for summary in folder.glob("run-*.json"):
        if summary.stem.endswith("-report"):
            continue  # a fault report's data, not a summary
        try:
            stat = summary.stat()
        except FileNotFoundError:  # pruned by a run next to this one
            continue
        if stat.st_size == 0 and time.time() - stat.st_mtime < _RUNNING_S:
            continue  # still running
        runs.append((stat.st_mtime, summary))
    return sorted(runs)


def prune_runs(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` runs (``run-*`` files) in ``folder``.

    A run is its summary ``run-<stamp>.json`` with ``run-<stamp>-report.html`` and
    ``run-<stamp>-report.json``; other files are never touched. ``keep`` 0 keeps all.

    Returns:
        The files deleted.
    """
    if keep <= 0 or not folder.is_dir():
        return []
    runs = _runs(folder)
    deleted = []
    for _, summary in runs[: max(len(runs) - keep, 0)]:
        page, data = _report_files(_beside(summary))
        for path in (summary, page, data):
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            deleted.append(path)
    return deleted
