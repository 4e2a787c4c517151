"""The npm ``toxiproxy-node-client`` 4.1.0 against our server (contract §4.2).

Runs ``node tests/compat/node/compat.mjs <url>`` (installed by ``tests/compat/node/install.sh``)
against a fresh proxy server and asserts on its one-JSON-line-per-check output. The client takes
its base URL as a constructor argument (``new Toxiproxy("http://localhost:8474")`` in its own
tests), so we run it twice: with ``127.0.0.1`` and with ``localhost`` (Node 20's ``fetch`` must
reach the server through name resolution, as in the client's own tests).

Missing node or a missing install: the test FAILS when ``CI`` is set, and is skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).parent / "node"
SCRIPT = NODE_DIR / "compat.mjs"
PACKAGE = NODE_DIR / "node_modules" / "toxiproxy-node-client" / "package.json"
VERSION = "4.1.0"

EXPECTED_CHECKS = [
    "version",
    "getAll_empty",
    "create_proxy",
    "get_proxy",
    "get_missing_proxy_404",
    "get_all",
    "duplicate_proxy_409",
    "update_disable",
    "update_upstream_while_disabled",
    "update_reenable",
    "toxic_defaults",
    "get_toxic_round_trip",
    "duplicate_toxic_409",
    "update_toxic_attributes",
    "missing_toxic_404",
    *(
        f"toxic_type_{t}"
        for t in (
            "slow_close",
            "timeout",
            "slicer",
            "reset_peer",
            "limit_data",
            "bandwidth",
            "latency",
        )
    ),
    "toxic_remove",
    "populate",
    "populate_empty",
    "reset",
    "remove",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure; run tests/compat/node/install.sh)")
    pytest.skip(f"{reason}; run tests/compat/node/install.sh")


def require_node() -> str:
    """The node executable, with the pinned client installed; otherwise fail (CI) or skip.

    Called in each test body (not a fixture) so that in CI the *test* fails, not its setup.
    """
    exe = shutil.which("node")
    if exe is None:
        _unavailable("node is not on PATH")
        raise AssertionError("unreachable")
    if not PACKAGE.is_file():
        _unavailable(f"toxiproxy-node-client is not installed in {NODE_DIR / 'node_modules'}")
    installed = json.loads(PACKAGE.read_text())["version"]
    if installed != VERSION:
        _unavailable(f"toxiproxy-node-client {installed} installed, {VERSION} required")
    return exe


def _run(node: str, url: str) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    proc = subprocess.run(
        [node, str(SCRIPT), url],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = []
    for raw in proc.stdout.splitlines():
        try:
            lines.append(json.loads(raw))
        except json.JSONDecodeError:
            raise AssertionError(f"non-JSON output line {raw!r}; stderr: {proc.stderr}") from None
    return proc, lines


@pytest.mark.parametrize("hostname", ["127.0.0.1", "localhost"])
def test_node_client_conformance(proxy_server: Any, hostname: str) -> None:
    node = require_node()
    url = f"http://{hostname}:{proxy_server.port}"
    proc, results = _run(node, url)
    failed = [r for r in results if not r["ok"]]
    assert not failed, "\n".join(f"{r['check']}: {r['detail']}" for r in failed)
    assert [r["check"] for r in results] == EXPECTED_CHECKS, proc.stderr
    assert proc.returncode == 0, proc.stderr


def test_script_fails_loudly_on_a_dead_server() -> None:
    """The script must not report success when nothing answers (guards the guard)."""
    import socket

    node = require_node()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        proc, results = _run(node, f"http://127.0.0.1:{sock.getsockname()[1]}")
    assert proc.returncode != 0
    assert results
    assert not any(r["ok"] for r in results)
