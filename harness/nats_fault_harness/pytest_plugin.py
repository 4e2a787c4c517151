"""The pytest plugin: options, ini keys and fixtures. Thin wiring only.

Registered through the ``pytest11`` entry point, so it is active wherever the package is
installed. It changes nothing unless a test asks for one of its fixtures; heavy modules
are imported inside the fixtures, never at plugin import.
"""

from __future__ import annotations

import sys
from argparse import SUPPRESS
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from nats_fault_harness.faults import (
        FaultLog,
        FaultyCluster,
        Link,
        LinkFactory,
        Pool,
        ServerFaults,
    )
    from nats_fault_harness.history import History
    from nats_fault_harness.proxy._fixtures_support import ToxiproxyEndpoint
    from nats_fault_harness.replay import ReusableEnv
    from nats_fault_harness.servers import NatsCluster, NatsServer, ServerConfig

__all__ = [
    "fault_log",
    "nats_cluster_factory",
    "nats_faulty_cluster",
    "nats_link",
    "nats_link_factory",
    "nats_pool",
    "nats_pool_factory",
    "server_faults",
    "nats_history",
    "nats_server",
    "nats_server_factory",
    "reusable_env",
    "toxiproxy",
    "toxiproxy_client",
]

_BIN_HELP = "path to the nats-server binary (default: NATS_SERVER_BIN, the venv, then PATH)"
_URL_HELP = (
    "use this Toxiproxy-compatible API (for example a real toxiproxy-server) instead of "
    "starting the harness's own proxy (default: env TOXIPROXY_URL)"
)
_SEED_HELP = "seed for the harness's proxy: same seed and traffic, same toxicity rolls and jitter"
_SUT_HELP = (
    "the service under test of scenario files, as 'module:factory' "
    "(default: the reference service, nats_fault_harness.scenario.reference_sut:make_reference_sut)"
)
_JS_HELP = (
    "run the shared nats_server (and nats_link, nats_pool on it) with JetStream "
    "(default true); its streams, consumers and KV/object buckets are deleted before each test"
)
_NO_JS_HELP = "run the shared nats_server without JetStream (overrides ini nats_jetstream)"
_REPORT_HELP = (
    "write an HTML fault report to this path (faults, client events, message outcomes and "
    "verdicts per test) and the same data as JSON beside it (x.html -> x.json)"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the harness's command-line options and ini keys."""
    group = parser.getgroup("nats-fault-harness", "NATS fault harness")
    group.addoption("--nats-server-bin", dest="nats_server_bin", default=None, help=_BIN_HELP)
    parser.addini("nats_server_bin", _BIN_HELP, default="")
    group.addoption(
        "--nats-no-jetstream",
        dest="nats_jetstream",
        action="store_false",
        default=None,
        help=_NO_JS_HELP,
    )
    parser.addini("nats_jetstream", _JS_HELP, type="bool", default=True)
    group.addoption("--toxiproxy-url", dest="toxiproxy_url", default=None, help=_URL_HELP)
    parser.addini("toxiproxy_url", _URL_HELP, default="")
    group.addoption(
        "--toxiproxy-seed", dest="toxiproxy_seed", type=int, default=None, help=_SEED_HELP
    )
    group.addoption("--sut", dest="nats_sut", default=None, help=_SUT_HELP)
    parser.addini("nats_sut", _SUT_HELP, default="")
    group.addoption(
        "--fault-report", dest="fault_report", default=None, metavar="PATH", help=_REPORT_HELP
    )
    parser.addini("fault_report", _REPORT_HELP, default="")
    group.addoption(
        "--claim",
        dest="nats_claims",
        action="append",
        default=[],
        metavar="ID",
        help="run only the scenarios that verify claim ID or a claim below it (ID.*); "
        "repeat for any of several",
    )
    # The command line the report shows, set by `nats-harness run` (hidden).
    group.addoption("--fault-report-command", dest="fault_report_command", help=SUPPRESS)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect ``scenarios/**/*.yaml`` (not ``claims.yaml``) and replay files as scenario items."""
    folders = set(file_path.parent.parts)
    if file_path.suffix not in (".yaml", ".yml") or not folders & {"scenarios", "replays"}:
        return None
    from nats_fault_harness.scenario._collect import ScenarioFile, is_scenario_file

    if not is_scenario_file(file_path):
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Declare the markers; kill servers left behind by earlier runs whose pytest died.

    Also registers the hypothesis profiles ``nats-dev``, ``nats-ci`` and ``nats-thorough`` (before
    hypothesis's own hook reads ``--hypothesis-profile``); see
    :mod:`nats_fault_harness._hypothesis`.
    """
    from nats_fault_harness._hypothesis import configure as configure_hypothesis

    configure_hypothesis(config)
    config.addinivalue_line(
        "markers",
        "proxy_extension(*names): the test needs these extensions of the harness's proxy; "
        "it is skipped, with the reason, against a proxy (a real Toxiproxy) that lacks them",
    )
    config.addinivalue_line("markers", "scenario: a scenario file of the scenario library")
    checkers = (
        "accounting",
        "exceptions",
        "backoff",
        "pool",
        "validation",
        "loop_lag",
        "metrics",
        "health",
        "logs",
        "outputs",
        "stream",
        "consumer",
    )
    for name in checkers:  # the scenario model's CHECKERS, without importing pydantic here
        config.addinivalue_line("markers", f"{name}: a scenario verified by the {name} checker")
    if not hasattr(config, "workerinput"):  # the xdist controller or a plain run
        from nats_fault_harness import _proc

        _proc.sweep_orphans()
    report = config.getoption("fault_report") or config.getini("fault_report")
    if report:
        from nats_fault_harness.report._pytest import FaultReportPlugin

        base = config.invocation_params.dir if config.getoption("fault_report") else config.rootpath
        writer = not hasattr(config, "workerinput")  # only the controller writes
        plugin = FaultReportPlugin(config, base / str(report), writer=writer)
        config.pluginmanager.register(plugin, "nats-fault-report")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--claim``: keep only the scenarios that verify one of the claims given."""
    wanted = config.getoption("nats_claims")
    if not wanted:
        return
    from nats_fault_harness.scenario._collect import select_by_claims

    keep, drop = select_by_claims(items, wanted)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_collectionfinish(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    """Name the service the collected scenarios run against (the reference, or ``--sut``)."""
    if not any(item.get_closest_marker("scenario") for item in items):
        return []
    from nats_fault_harness.scenario._collect import service_line

    return [service_line(config)]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Fail a property test whose every example's verdict was unknown: the search could not
    decide (see :mod:`nats_fault_harness.replay._search`); such examples are never falsifying
    ones."""
    funcargs = getattr(item, "funcargs", {})
    search = sys.modules.get(
        "nats_fault_harness.replay._search"
    )  # no ReusableEnv exists without it
    if search is not None:
        search.begin(funcargs.values())
    outcome = yield
    search = sys.modules.get("nats_fault_harness.replay._search")
    message = search.undecided(funcargs.values()) if search is not None else None
    if message:
        pytest.fail(message, pytrace=False)
    return outcome


def pytest_unconfigure(config: pytest.Config) -> None:
    """Sweep anything this process started and did not stop (a last line of defence)."""
    from nats_fault_harness import _proc

    _proc.sweep_own()


def _binary(config: pytest.Config) -> str | None:
    value = config.getoption("nats_server_bin") or config.getini("nats_server_bin")
    return str(value) if value else None


def _jetstream(config: pytest.Config) -> bool:
    option = config.getoption("nats_jetstream")
    if option is not None:
        return bool(option)
    return bool(config.getini("nats_jetstream"))


def _config(config: ServerConfig | None, fields: dict[str, Any]) -> ServerConfig:
    from nats_fault_harness.servers import ServerConfig

    base = config or ServerConfig()
    return base.with_(**fields) if fields else base


@pytest.fixture(scope="session")
def _nats_server_session(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NatsServer]:
    from nats_fault_harness.servers import NatsServer, ServerConfig

    server = NatsServer(
        ServerConfig(jetstream=_jetstream(pytestconfig)),
        binary=_binary(pytestconfig),
        base_dir=tmp_path_factory.mktemp("nats-shared"),
        name="shared",
    )
    server.start()
    yield server
    server.close()


@pytest.fixture
def nats_server(_nats_server_session: NatsServer) -> NatsServer:
    """A running nats-server shared by the session, with JetStream, reset before each test.

    Reset is cheap: a server a previous test paused is resumed, one it killed or put in
    lame duck is restarted on the same ports and JetStream store; then, if ``/jsz`` counts
    any stream, every stream is deleted (with its consumers; KV and object-store buckets
    are streams too), so no test sees what an earlier one created. A test that created
    nothing costs one ``/jsz`` request and no NATS connection. A stream that cannot be
    deleted fails the test's set-up with a ``ServerError`` naming it and the cause.

    JetStream is on unless ``--nats-no-jetstream`` or ini ``nats_jetstream = false``
    (then JetStream calls fail with no responders). Use :func:`nats_server_factory` for a
    server whose configuration a test needs to choose.
    """
    server = _nats_server_session
    if server.is_paused:
        server.resume()
    if not server.is_running:
        server.start()
    if server.config.jetstream:
        from nats_fault_harness.servers._jetstream import delete_all_streams

        delete_all_streams(server)
    return server


@pytest.fixture
def nats_server_factory(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., NatsServer]]:
    """Start servers with chosen options; every server started is stopped at test end.

    Call it as ``nats_server_factory(config=None, *, name=None, start=True, **fields)``
    where ``fields`` are :class:`~nats_fault_harness.servers.ServerConfig` fields
    (``jetstream=True``, ``ping_interval=1``...).
    """
    from nats_fault_harness.servers import NatsServer

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

    Returns a ready :class:`~nats_fault_harness.servers.NatsCluster` (full mesh; with
    ``jetstream=True``, JetStream healthy on every node, so R3 streams can be placed). Each
    cluster has its own stores, empty at start. Every cluster is stopped at test end.
    """
    from nats_fault_harness.servers import NatsCluster

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


@pytest.fixture(scope="session")
def reusable_env(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReusableEnv]:
    """One nats-server and one seeded proxy for every example of a property test.

    A :class:`~nats_fault_harness.replay.ReusableEnv` for the session: each
    :func:`~nats_fault_harness.replay.check_scenario` run gets a fresh history, fault log, proxies
    and service. It always runs the harness's own proxy with seed
    :data:`~nats_fault_harness.replay.PROXY_SEED` (never ``--toxiproxy-url``), so a replay draws the
    same jitter and toxicity rolls as the search did.
    """
    from nats_fault_harness.replay import ReusableEnv

    base = tmp_path_factory.mktemp("reusable-env")
    with ReusableEnv(binary=_binary(pytestconfig), base_dir=base) as env:
        yield env


@pytest.fixture
def nats_history() -> History:
    """A fresh :class:`~nats_fault_harness.history.History` for the test.

    Wire a nats-py client into it with ``nats.connect(..., **nats_history.nats_callbacks(
    "name"))``; the application's own callbacks are wrapped, not replaced
    (``nats_callbacks("name", error_cb=on_error)``), and ``accepts=NatsBroker`` keeps only
    the keywords a client such as FastStream's takes.
    """
    from nats_fault_harness.history import History

    return History()


@pytest.fixture(scope="session")
def _toxiproxy_session(pytestconfig: pytest.Config) -> Iterator[ToxiproxyEndpoint]:
    from nats_fault_harness.proxy._fixtures_support import open_toxiproxy

    url = pytestconfig.getoption("toxiproxy_url") or pytestconfig.getini("toxiproxy_url")
    seed = pytestconfig.getoption("toxiproxy_seed")
    with open_toxiproxy(url=str(url) if url else None, seed=seed) as endpoint:
        yield endpoint


@pytest.fixture
def toxiproxy(
    request: pytest.FixtureRequest, _toxiproxy_session: ToxiproxyEndpoint
) -> ToxiproxyEndpoint:
    """A Toxiproxy-compatible API, emptied before each test.

    By default the harness's own proxy, started once per session in its own process (so a
    busy event loop in the code under test cannot distort injected latency). With
    ``--toxiproxy-url``, ini ``toxiproxy_url`` or env ``TOXIPROXY_URL`` it is that server
    instead (a real ``toxiproxy-server``); ``toxiproxy.has("events")`` tells which
    extensions it offers, and ``@pytest.mark.proxy_extension("events")`` skips a test, with
    the reason, where they are missing. ``toxiproxy.url`` is the API;
    ``toxiproxy.client()`` returns an async :class:`~nats_fault_harness.proxy.ToxiproxyClient`.
    """
    from nats_fault_harness.proxy._fixtures_support import ensure_running, reset_toxiproxy

    ensure_running(_toxiproxy_session)  # a new proxy process if the session's one died
    for marker in request.node.iter_markers("proxy_extension"):
        missing = [name for name in marker.args if not _toxiproxy_session.has(name)]
        if missing:
            pytest.skip(
                f"the proxy at {_toxiproxy_session.url} lacks extension(s) "
                f"{', '.join(missing)} (a real Toxiproxy has none of the harness's extensions)"
            )
    reset_toxiproxy(_toxiproxy_session.url)
    return _toxiproxy_session


@pytest.fixture
def toxiproxy_client(toxiproxy: ToxiproxyEndpoint) -> Iterator[Any]:
    """A ``toxiproxy.Toxiproxy`` client of the PyPI ``toxiproxy-python`` package, pointed
    at the session's proxy (its host and port are class attributes; they are restored
    after the test)."""
    try:
        from toxiproxy import Toxiproxy
        from toxiproxy.api import APIConsumer
    except ImportError:  # pragma: no cover - depends on the environment
        pytest.skip("toxiproxy-python is not installed (pip install toxiproxy-python)")
    saved = (APIConsumer.host, APIConsumer.port)
    client = Toxiproxy()
    client.update_api_consumer(toxiproxy.host, toxiproxy.port)
    try:
        yield client
    finally:
        APIConsumer.host, APIConsumer.port = saved


@pytest.fixture
def fault_log(nats_history: History) -> Iterator[FaultLog]:
    """Where the test's faults journal themselves (into ``nats_history``).

    At teardown every fault still applied is healed, so no test leaves one behind for the
    next; an error while healing fails the test.
    """
    from nats_fault_harness.faults import FaultLog

    log = FaultLog(nats_history)
    yield log
    errors = log.heal_all()
    if errors:
        raise errors[0]


@pytest.fixture
def nats_link_factory(toxiproxy: ToxiproxyEndpoint, fault_log: FaultLog) -> Iterator[LinkFactory]:
    """Put servers behind proxies: ``nats_link_factory.link(server)`` returns a
    :class:`~nats_fault_harness.faults.Link`; ``.pool(server, size)`` a
    :class:`~nats_fault_harness.faults.Pool`.
    The proxy's events are copied into ``nats_history`` at teardown (or on
    ``pull_events()``); every proxy it made is deleted."""
    from nats_fault_harness.faults import LinkFactory
    from nats_fault_harness.proxy import SyncToxiproxyClient

    extensions = frozenset((toxiproxy.extensions or {}).get("extensions", ()))
    with SyncToxiproxyClient(toxiproxy.url) as api:
        factory = LinkFactory(api, fault_log, extensions)
        try:
            yield factory
        finally:
            fault_log.heal_all()
            factory.pull_events()
            factory.close()


@pytest.fixture
def nats_link(nats_server: NatsServer, nats_link_factory: LinkFactory) -> Link:
    """The shared ``nats_server`` behind a fresh proxy; connect clients to ``nats_link.url``.

    The server runs JetStream (see :func:`nats_server`) with no streams at the start of the
    test; a PubAck is a ``MSG`` on the publisher's ``_INBOX.>`` reply subject and an ack a
    ``PUB`` to ``$JS.ACK.>``, which :meth:`~nats_fault_harness.faults.Link.frames` can drop.
    """
    return nats_link_factory.link(nats_server)


@pytest.fixture
def nats_pool_factory(
    nats_server: NatsServer, nats_link_factory: LinkFactory
) -> Callable[..., Pool]:
    """``nats_pool_factory(size=3, server=None, name="pool")``: a server (default the shared
    one) fronted by ``size`` addressable members; see :class:`~nats_fault_harness.faults.Pool`."""

    def factory(size: int = 3, server: NatsServer | None = None, name: str = "pool") -> Pool:
        return nats_link_factory.pool(server or nats_server, size, name=name)

    return factory


@pytest.fixture
def nats_pool(nats_pool_factory: Callable[..., Pool]) -> Pool:
    """The shared ``nats_server`` fronted by 3 addressable members (``nats_pool.urls``); it
    runs JetStream unless ``--nats-no-jetstream``."""
    return nats_pool_factory(3)


@pytest.fixture
def nats_faulty_cluster(
    pytestconfig: pytest.Config,
    tmp_path_factory: pytest.TempPathFactory,
    toxiproxy: ToxiproxyEndpoint,
    fault_log: FaultLog,
) -> Iterator[Callable[..., FaultyCluster]]:
    """Partitionable clusters: ``nats_faulty_cluster(size=3, config=None, **fields)``.

    Returns a started :class:`~nats_fault_harness.faults.FaultyCluster` (every route through an
    inbound proxy of the harness's proxy; ``ping_interval`` 1 s unless given). With
    ``jetstream=True`` it returns once JetStream is healthy on every node: an R3 stream gets
    a replica on each node and its replication passes the proxies, so it can be cut. Use
    ``.partition(a, b)``, ``.isolate(a)``, ``.heal()``. At test end its faults are removed
    and its nodes and proxies are gone.
    """
    from nats_fault_harness.faults import FaultyCluster
    from nats_fault_harness.proxy import SyncToxiproxyClient

    extensions = frozenset((toxiproxy.extensions or {}).get("extensions", ()))
    started: list[FaultyCluster] = []
    base = tmp_path_factory.mktemp("nats-faulty-cluster")
    with SyncToxiproxyClient(toxiproxy.url) as api:

        def factory(
            size: int = 3, config: ServerConfig | None = None, **fields: Any
        ) -> FaultyCluster:
            cluster = FaultyCluster(
                api,
                fault_log,
                size,
                _config(config, fields),
                binary=_binary(pytestconfig),
                base_dir=base,
                extensions=extensions,
            )
            started.append(cluster)
            return cluster.start()

        try:
            yield factory
        finally:
            for cluster in started:
                cluster.close()


@pytest.fixture
def server_faults(fault_log: FaultLog) -> Callable[[NatsServer], ServerFaults]:
    """``server_faults(server).kill()`` and friends, journaled to ``nats_history``."""
    from nats_fault_harness.faults import ServerFaults

    def make(server: NatsServer) -> ServerFaults:
        return ServerFaults(server, fault_log)

    return make
