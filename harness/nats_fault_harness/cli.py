"""The ``nats-harness`` command line."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from nats_fault_harness._docs import DOCS_URL
from nats_fault_harness._version import __version__

KEEP_RUNS = 20  # nats_fault_harness.report._paths.KEEP_RUNS, not imported: --help stays fast

__all__ = ["build_parser", "main"]

_SUT_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def _sut_spec(value: str) -> str:
    """``--sut`` must look like ``package.module:factory`` (imported when the run starts)."""
    if not _SUT_RE.match(value):
        raise argparse.ArgumentTypeError(
            f"expected MODULE:FACTORY (a module path, a colon, a callable; for example "
            f"nats_fault_harness.scenario.reference_sut:make_reference_sut), got {value!r}"
        )
    return value


def _count(value: str) -> int:
    """``--keep-runs``: an integer >= 0."""
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value!r}")
    return number


def _jobs(value: str) -> int | None:
    """``-n/--jobs``: ``auto`` (None: one per CPU) or an integer >= 1."""
    if value == "auto":
        return None
    return _positive(value)


def _jobs_text(value: str) -> str:
    """``matrix -n``: checked as ``run -n`` is, passed on as written."""
    _jobs(value)
    return value


def _positive(value: str) -> int:
    """``--repeat``: an integer >= 1."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="nats-harness",
        description="Test NATS clients against real nats-server processes under real faults.",
        # raw: argparse would wrap the URL at its hyphens on a narrow terminal
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run 'nats-harness COMMAND --help' for the options of a command.\n"
        f"Documentation: {DOCS_URL}",
    )
    parser.add_argument("--version", action="version", version=f"nats-harness {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="run scenario files against a service (the main job)",
        description="Run scenario files (default: the scenarios/ library) against the "
        "reference service or --sut, print one line per scenario, write a JSON summary "
        "under reports/, and exit non-zero if any verdict is not valid.",
        epilog="Exit codes: 0 every scenario valid; 1 a verdict invalid or unknown, or a "
        "scenario errored; 2 a bad argument (checked before anything runs): a file could "
        "not be loaded, a path holds no scenario, --report and --fault-report name the same "
        "file or one that cannot be written; 130 interrupted (Ctrl-C). The --sut "
        "module must be importable: install the project, or set pythonpath in its pytest "
        "configuration.",
    )
    run.add_argument(
        "paths",
        nargs="*",
        default=["scenarios"],
        help="scenario files or folders (default: scenarios)",
    )
    run.add_argument(
        "--sut",
        default=None,
        type=_sut_spec,
        metavar="MODULE:FACTORY",
        help="factory of the service under test, a callable returning a "
        "nats_fault_harness.scenario.ServiceUnderTest (default: the reference service, "
        "nats_fault_harness.scenario.reference_sut:make_reference_sut)",
    )
    run.add_argument(
        "--report",
        default=None,
        type=Path,
        metavar="FILE",
        help="where to write the JSON summary (default: reports/run-*.json)",
    )
    run.add_argument(
        "--fault-report",
        default=None,
        type=Path,
        metavar="FILE",
        help="where to write the HTML fault report, with its JSON beside it "
        "(default: beside the summary, <summary>-report.html); it must not be the "
        "--report file, nor have its JSON there",
    )
    run.add_argument(
        "-n",
        "--jobs",
        default=None,
        type=_jobs,
        metavar="N",
        help="run N scenarios at a time, each in a worker process with its own servers and "
        "proxies ('auto', the default: two per CPU, as scenarios mostly wait; 1: one after "
        "another in this process)",
    )
    run.add_argument(
        "--claim",
        dest="claims",
        action="append",
        default=[],
        metavar="ID",
        help="run only scenarios verifying claim ID or a claim below it (ID.*); repeatable "
        "(any of them)",
    )
    run.add_argument(
        "-k",
        dest="keyword",
        default=None,
        metavar="EXPR",
        help="run only scenarios whose id matches the expression (pytest's -k)",
    )
    run.add_argument(
        "-m",
        dest="marker",
        default=None,
        metavar="MARKEXPR",
        help="run only scenarios whose markers match (pytest's -m; every scenario has the "
        "marker 'scenario', one per checker it runs and those its file lists)",
    )
    run.add_argument(
        "--keep-runs",
        default=KEEP_RUNS,
        type=_count,
        metavar="N",
        help=f"keep the newest N runs in reports/ and delete older run-* files there "
        f"(default {KEEP_RUNS}; 0 keeps every run; runs written with --report are not "
        "counted or deleted)",
    )
    report = sub.add_parser(
        "report",
        help="render an HTML fault report again from its JSON",
        description="Render the HTML fault report from the JSON written beside it.",
    )
    report.add_argument("source", type=Path, metavar="IN.json", help="the report's JSON")
    report.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        metavar="OUT.html",
        help="where to write the HTML (default: IN.json with the suffix .html)",
    )
    replay = sub.add_parser(
        "replay",
        help="replay scenario files exactly (a falsifying example from reports/replays/)",
        description="Run scenario files the way the property tests ran them (a reused "
        "server and a proxy seeded so the scenario's seed gives the same draws) against "
        "--sut, else the file's '# sut:' header, else the reference service. Exit 0 if "
        "every verdict is valid, 1 if one is not (the failure reproduced), 2 on a load error "
        "or a bad argument, 130 if interrupted (Ctrl-C).",
    )
    replay.add_argument("files", nargs="+", metavar="FILE", help="scenario files")
    replay.add_argument(
        "--sut",
        default=None,
        type=_sut_spec,
        metavar="MODULE:FACTORY",
        help="the service under test (default: the file's '# sut:' line, else the reference)",
    )
    replay.add_argument(
        "--repeat", type=_positive, default=1, metavar="N", help="run each file N times (default 1)"
    )
    matrix = sub.add_parser(
        "matrix",
        help="run scenario files against several clients and write one table",
        description="Run the scenario files (default: the scenarios/ library) once per client, "
        "each as a 'nats-harness run' of its own, and write the client matrix: a row per "
        "scenario, a column per client, each cell the verdict and its one-line reason, as "
        "OUT/matrix.md, OUT/matrix.json and OUT/matrix-report.html (the fault report of "
        "every run, the table as its first section).",
        epilog="Clients: the presets reference (the reference service), nats-py (plain "
        "nats-py, clients/python/natspy_adapter.py) and nats.js (@nats-io/transport-node, "
        "clients/node/adapter.mjs; 'make clients' installs it), or any MODULE:FACTORY. "
        "Exit codes: 0 the matrix was written, whatever the verdicts; 2 a bad argument, or "
        "a client's run could not start (its column says 'missing'); 130 interrupted.",
    )
    matrix.add_argument(
        "paths",
        nargs="*",
        default=["scenarios"],
        help="scenario files or folders (default: scenarios)",
    )
    matrix.add_argument(
        "--client",
        dest="clients",
        action="append",
        default=[],
        metavar="NAME",
        help="a column: reference, nats-py, nats.js or a MODULE:FACTORY; repeatable "
        "(default: reference, nats-py and nats.js)",
    )
    matrix.add_argument(
        "--out",
        type=Path,
        default=Path("reports") / "matrix",
        metavar="DIR",
        help="where the runs' summaries, fault reports and the matrix go (default: "
        "reports/matrix)",
    )
    matrix.add_argument(
        "-n",
        "--jobs",
        default=None,
        type=_jobs_text,
        metavar="N",
        help="each run's --jobs: 'auto' or N (default: run's own)",
    )
    matrix.add_argument(
        "-k", dest="keyword", default=None, metavar="EXPR", help="as for run: pytest's -k"
    )
    matrix.add_argument(
        "--claim", dest="claims", action="append", default=[], metavar="ID", help="as for run"
    )
    smoke = sub.add_parser(
        "smoke",
        help="start real servers and drive a client through process faults",
        description="Start real nats-server processes, drive a nats-py client through "
        "process faults, and print what happened (a quick check of the machine).",
    )
    smoke.add_argument(
        "--nats-server-bin",
        default=None,
        metavar="PATH",
        help="path to the nats-server binary (default: NATS_SERVER_BIN, the venv, then PATH)",
    )
    sub.add_parser(
        "toxiproxy",
        add_help=False,
        help="run the Toxiproxy-compatible proxy server stand-alone (like toxiproxy-server; "
        "'nats-harness toxiproxy --help' lists its options)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nats-harness`` console script."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["toxiproxy"]:
        from nats_fault_harness.proxy._main import main as proxy_main

        return proxy_main(argv[1:], prog="nats-harness toxiproxy")
    args = parser.parse_args(argv)
    if args.command == "run":
        from nats_fault_harness._runcmd import Selection, run_scenarios

        return run_scenarios(
            args.paths,
            sut=args.sut,
            report=args.report,
            fault_report=args.fault_report,
            keep_runs=args.keep_runs,
            jobs=args.jobs,
            selection=Selection(tuple(args.claims), args.keyword, args.marker),
        )
    if args.command == "report":
        from nats_fault_harness.report._cli import report_command

        return report_command(args.source, args.output)
    if args.command == "replay":
        from nats_fault_harness.replay import replay_main

        return replay_main(args.files, sut=args.sut, repeat=args.repeat)
    if args.command == "matrix":
        from nats_fault_harness._matrix import PRESETS, matrix_main

        selection = ["-k", args.keyword] if args.keyword else []
        selection += [arg for claim in args.claims for arg in ("--claim", claim)]
        try:
            return matrix_main(
                args.paths,
                clients=args.clients or list(PRESETS),
                out=args.out,
                jobs=args.jobs,
                selection=selection,
            )
        except KeyboardInterrupt:
            return 130
    if args.command == "smoke":
        from nats_fault_harness._smoke import run_smoke

        return run_smoke(binary=args.nats_server_bin)
    parser.print_help()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
