"""Factories of process-protocol services for ``--sut`` (and the matrix's client presets).

``--sut`` names a ``module:factory``, a callable without arguments, imported in every
pytest worker. A process service needs a command line, so :func:`process` reads it from
the environment (:data:`SUT_CMD_ENV`), which the workers inherit: no new option has to
travel through pytest, xdist and the plugin, and ``--sut
nats_fault_harness.services:process`` stays a plain factory spec that ``nats-harness run``,
``pytest --sut`` and the ``nats_sut`` ini key all accept. :func:`natspy_client` and
:func:`natsjs_client` are the two adapters in the repository's ``clients/`` folder.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

from nats_fault_harness.errors import ConfigError
from nats_fault_harness.services._process import ProcessService

__all__ = [
    "CLIENTS_ENV",
    "SUT_CMD_ENV",
    "SUT_CWD_ENV",
    "clients_dir",
    "natsjs_client",
    "natspy_client",
    "process",
]

SUT_CMD_ENV = "NATS_HARNESS_SUT_CMD"
"""The command line of :func:`process` (split like a shell would, never run by one)."""
SUT_CWD_ENV = "NATS_HARNESS_SUT_CWD"
"""Its working folder (default: the current one)."""
CLIENTS_ENV = "NATS_HARNESS_CLIENTS"
"""Where the ``clients/`` adapters are (default: the repository's, else ``./clients``)."""


def process() -> ProcessService:
    """The process service whose command line is :data:`SUT_CMD_ENV`.

    Raises:
        ConfigError: the variable is unset or empty.
    """
    command = os.environ.get(SUT_CMD_ENV, "").strip()
    if not command:
        raise ConfigError(
            f"--sut nats_fault_harness.services:process runs the command in {SUT_CMD_ENV} "
            f"(for example {SUT_CMD_ENV}='node clients/node/adapter.mjs'); it is not set",
            where=SUT_CMD_ENV,
        )
    return ProcessService(shlex.split(command), cwd=os.environ.get(SUT_CWD_ENV) or None)


def clients_dir() -> Path:
    """The folder holding the adapters (``python/``, ``node/``)."""
    given = os.environ.get(CLIENTS_ENV)
    if given:
        return Path(given)
    repo = Path(__file__).resolve().parents[3] / "clients"
    return repo if repo.is_dir() else Path.cwd() / "clients"


def natspy_client() -> ProcessService:
    """nats-py with its defaults, as a child process (``clients/python/natspy_adapter.py``)."""
    script = clients_dir() / "python" / "natspy_adapter.py"
    if not script.is_file():
        raise ConfigError(
            f"the nats-py adapter is not at {script} (set {CLIENTS_ENV} to the clients/ "
            "folder of a nats-fault-harness checkout)",
            where=CLIENTS_ENV,
        )
    return ProcessService([sys.executable, str(script)])


def natsjs_client() -> ProcessService:
    """nats.js (``@nats-io/transport-node``) with its defaults (``clients/node/adapter.mjs``)."""
    folder = clients_dir() / "node"
    node = shutil.which("node")
    if node is None:
        raise ConfigError("the nats.js adapter needs node (Node.js >= 18) on PATH", where="node")
    if not (folder / "node_modules" / "@nats-io" / "transport-node").is_dir():
        raise ConfigError(
            f"the nats.js adapter's packages are not installed in {folder}: run "
            f"'bash {folder / 'install.sh'}' (or 'make clients')",
            where=CLIENTS_ENV,
        )
    return ProcessService([node, str(folder / "adapter.mjs")], cwd=str(folder))
