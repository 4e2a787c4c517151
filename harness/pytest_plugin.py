"""The pytest plugin: options, ini keys and fixtures. Thin wiring only.

Registered through the ``pytest11`` entry point, so it is active wherever the package is
installed. It changes nothing unless a test asks for one of its fixtures; heavy modules
are imported inside the fixtures, never at plugin import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.history import History
    from harness.servers import NatsCluster, NatsServer, ServerConfig

__all__ = [
    "nats_cluster_factory",
    "nats_history",
    "nats_server",
    "nats_server_factory",
]

_BIN_HELP = "path to the nats-server binary (default: NATS_SERVER_BIN, the venv, then PATH)"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the harness's command-line options and ini keys."""
    group = parser.getgroup("nats-fault-harness", "NATS fault harness")
    group.addoption("--nats-server-bin", dest="nats_server_bin", default=None, help=_BIN_HELP)
    parser.addini("nats_server_bin", _BIN_HELP, default="")


def pytest_configure(config: pytest.Config) -> None:
    """Kill servers left behind by earlier runs whose pytest process died."""
    if not hasattr(config, "workerinput"):  # the xdist controller or a plain run
        from harness import _proc

        _proc.sweep_orphans()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Sweep anything this process started and did not stop (a last line of defence)."""
    from harness import _proc

    _proc.sweep_own()


def _binary(config: pytest.Config) -> str | None:
    value = config.getoption("nats_server_bin") or config.getini("nats_server_bin")
    return str(value) if value else None


def _config(config: ServerConfig | None, fields: dict[str, Any]) -> ServerConfig:
    from harness.servers import ServerConfig

    base = config or ServerConfig()
    return base.with_(**fields) if fields else base


@pytest.fixture(scope="session")
def _nats_server_session(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NatsServer]:
    from harness.servers import NatsServer

    server = NatsServer(
        binary=_binary(pytestconfig),
        base_dir=tmp_path_factory.mktemp("nats-shared"),
        name="shared",
    )
    server.start()
    yield server
    server.close()


@pytest.fixture
def nats_server(_nats_server_session: NatsServer) -> NatsServer:
    """A running nats-server shared by the session, reset before each test.

    Reset is cheap: a server a previous test paused is resumed, one it killed or put in
    lame duck is restarted on the same port. Use :func:`nats_server_factory` for a server
    whose configuration a test needs to choose.
    """
    server = _nats_server_session
    if server.is_paused:
        server.resume()
    if not server.is_running:
        server.start()
    return server


@pytest.fixture
def nats_server_factory(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., NatsServer]]:
    """Start servers with chosen options; every server started is stopped at test end.

    Call it as ``nats_server_factory(config=None, *, name=None, start=True, **fields)``
    where ``fields`` are :class:`~harness.servers.ServerConfig` fields
    (``jetstream=True``, ``ping_interval=1``...).
    """
    from harness.servers import NatsServer

    started: list[NatsServer] = []
    base = tmp_path_factory.mktemp("nats")

    def factory(
        config: ServerConfig | None = None,
        *,
        name: str | None = None,
        start: bool = True,
        **fields: Any,
    ) -> NatsServer:
        server = NatsServer(
            _config(config, fields), name=name, binary=_binary(pytestconfig), base_dir=base
        )
        started.append(server)
        return server.start() if start else server

    yield factory
    for server in started:
        server.close()


@pytest.fixture
def nats_cluster_factory(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., NatsCluster]]:
    """Start clusters: ``nats_cluster_factory(size=3, config=None, **fields)``.

    Returns a ready :class:`~harness.servers.NatsCluster` (full mesh; JetStream healthy if
    ``jetstream=True``). Every cluster is stopped at test end.
    """
    from harness.servers import NatsCluster

    started: list[NatsCluster] = []
    base = tmp_path_factory.mktemp("nats-cluster")

    def factory(size: int = 3, config: ServerConfig | None = None, **fields: Any) -> NatsCluster:
        cluster = NatsCluster(
            size, _config(config, fields), binary=_binary(pytestconfig), base_dir=base
        )
        started.append(cluster)
        return cluster.start()

    yield factory
    for cluster in started:
        cluster.close()


@pytest.fixture
def nats_history() -> History:
    """A fresh :class:`~harness.history.History` for the test.

    Wire a nats-py client into it with ``nats.connect(..., **nats_history.nats_callbacks(
    "name"))``.
    """
    from harness.history import History

    return History()
