"""Command line of the stand-alone proxy: ``python -m nats_fault_harness.proxy``.

Flags follow ``toxiproxy-server`` (``-host``, ``-port``, ``-seed``, ``-config`` are accepted
with one dash or two). Differences: the API binds ``127.0.0.1`` by default, ``--port 0``
picks a free port, and a bad ``--config`` file stops the server with an error naming the
file and the entry (Toxiproxy logs it and serves without those proxies).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from nats_fault_harness._version import __version__
from nats_fault_harness.errors import ConfigError

__all__ = ["build_parser", "main"]


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The argument parser (``prog`` names the command in help and errors)."""
    parser = argparse.ArgumentParser(
        prog=prog or "python -m nats_fault_harness.proxy",
        description="A Toxiproxy 2.12-compatible fault-injecting TCP proxy server. When "
        "ready it prints 'toxiproxy listening on http://HOST:PORT' on stdout.",
    )
    parser.add_argument(
        "--host",
        "-host",
        default="127.0.0.1",
        help="API host (default 127.0.0.1; 'localhost' binds IPv4 and IPv6)",
    )
    parser.add_argument(
        "--port",
        "-port",
        type=int,
        default=8474,
        help="API port (default 8474; 0 picks a free port)",
    )
    parser.add_argument(
        "--seed",
        "-seed",
        type=int,
        default=None,
        help="seed for toxicity rolls and jitter (default: random, see GET /extensions)",
    )
    parser.add_argument(
        "--config",
        "-config",
        default=None,
        metavar="FILE",
        help="JSON array of proxies to create at start (like /populate)",
    )
    parser.add_argument(
        "--version", "-version", action="version", version=f"%(prog)s {__version__}"
    )
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the server until SIGTERM/SIGINT; return the exit code.

    Returns:
        0 after a clean shutdown, 2 for a bad config file or argument, 1 if the API
        address cannot be bound.
    """
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    level = logging.getLevelName(os.environ.get("LOG_LEVEL", "WARNING").upper())
    logging.basicConfig(
        level=level if isinstance(level, int) else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, got {args.port}")
    from nats_fault_harness.proxy._server import serve_forever

    try:
        serve_forever(args.host, args.port, args.seed, args.config)
    except ConfigError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"{parser.prog}: error: cannot listen on {args.host}:{args.port}: {exc}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return 130
    return 0
