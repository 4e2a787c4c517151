"""The ``nats-harness`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from harness._version import __version__

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="nats-harness",
        description="Test NATS clients against real nats-server processes under real faults.",
    )
    parser.add_argument("--version", action="version", version=f"nats-harness {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="run scenario files against a service (the main job)",
        description="Run scenario files (default: the scenarios/ library) against the "
        "reference service or --sut, print one line per scenario, write a JSON summary "
        "under reports/, and exit non-zero if any verdict is not valid.",
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
        metavar="MODULE:FACTORY",
        help="the service under test (default: the reference service)",
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
        "(default: beside the summary, <summary>-report.html)",
    )
    report = sub.add_parser(
        "report",
        help="render an HTML fault report again from its JSON",
        description="Render the HTML fault report from the JSON written beside it.",
    )
    report.add_argument("source", type=Path, metavar="IN.json", help="the report's JSON")
    report.add_argument(
        "-o", "--output", type=Path, default=None, metavar="OUT.html", help="default: IN.html"
    )
    smoke = sub.add_parser(
        "smoke",
        help="start real servers and drive a client through process faults",
        description="Start real nats-server processes, drive a nats-py client through "
        "process faults, and print what happened (a quick check of the machine).",
    )
    smoke.add_argument("--nats-server-bin", default=None, help="path to nats-server")
    sub.add_parser(
        "toxiproxy",
        add_help=False,
        help="run the Toxiproxy-compatible proxy server stand-alone (like toxiproxy-server)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nats-harness`` console script."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["toxiproxy"]:
        from harness.proxy._main import main as proxy_main

        return proxy_main(argv[1:], prog="nats-harness toxiproxy")
    args = parser.parse_args(argv)
    if args.command == "run":
        from harness._runcmd import run_scenarios

        return run_scenarios(
            args.paths, sut=args.sut, report=args.report, fault_report=args.fault_report
        )
    if args.command == "report":
        from harness.report._cli import report_command

        return report_command(args.source, args.output)
    if args.command == "smoke":
        from harness._smoke import run_smoke

        return run_smoke(binary=args.nats_server_bin)
    parser.print_help()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
