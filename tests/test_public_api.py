"""Pin the curated public surface so it changes only on purpose."""

from __future__ import annotations

import pytest

import nats_fault_harness
import nats_fault_harness.checkers
import nats_fault_harness.errors
import nats_fault_harness.faults
import nats_fault_harness.natsproto
import nats_fault_harness.proxy
import nats_fault_harness.servers
import nats_fault_harness.toxics


def test_top_level_api() -> None:
    assert nats_fault_harness.__all__ == [
        "Harness",
        "__version__",
        "wait_until",
        "wait_until_async",
    ]
    assert nats_fault_harness.Harness.__module__ == "nats_fault_harness._harness"
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        _ = nats_fault_harness.nothing  # type: ignore[attr-defined]


def test_servers_api() -> None:
    assert sorted(nats_fault_harness.servers.__all__) == [
        "Auth",
        "ClusterSpec",
        "NatsCluster",
        "NatsServer",
        "ServerConfig",
        "binary_version",
        "find_binary",
        "render_config",
    ]


def test_every_error_derives_from_the_root() -> None:
    for name in nats_fault_harness.errors.__all__:
        cls = getattr(nats_fault_harness.errors, name)
        assert issubclass(cls, nats_fault_harness.errors.NatsFaultError), name


def test_proxy_api() -> None:
    assert sorted(nats_fault_harness.proxy.__all__) == [
        "EventsPage",
        "ProxyInfo",
        "ProxyInput",
        "ProxyProcess",
        "ProxyServer",
        "ProxyStartError",
        "SyncToxiproxyClient",
        "ToxicInfo",
        "ToxiproxyClient",
        "load_config",
        "serve",
        "serve_forever",
    ]
    assert issubclass(
        nats_fault_harness.proxy.ProxyStartError, nats_fault_harness.errors.ProxyError
    )


def test_toxics_api() -> None:
    assert sorted(nats_fault_harness.toxics.__all__) == [
        "AttributeToxic",
        "Bandwidth",
        "Chunk",
        "InvalidAttribute",
        "Latency",
        "LimitData",
        "Nats",
        "Noop",
        "ResetPeer",
        "Slicer",
        "SlowClose",
        "TOXICS",
        "Timeout",
        "Toxic",
        "ToxicIO",
        "attr",
    ]
    assert issubclass(
        nats_fault_harness.toxics.InvalidAttribute, nats_fault_harness.errors.ConfigError
    )


def test_importing_the_plugin_side_helpers_is_light() -> None:
    """The fixture support module must not need a running loop or start anything."""
    import nats_fault_harness.proxy._fixtures_support as support

    assert support.TOXIPROXY_URL_ENV == "TOXIPROXY_URL"


def test_faults_api() -> None:
    assert sorted(nats_fault_harness.faults.__all__) == sorted(
        [
            "BLACKHOLE_MS",
            "Fault",
            "FaultLog",
            "FaultyCluster",
            "Link",
            "LinkFactory",
            "Pool",
            "ServerFaults",
        ]
    )


def test_checkers_and_natsproto_surfaces_are_curated() -> None:
    for module in (nats_fault_harness.checkers, nats_fault_harness.natsproto):
        assert module.__all__, module.__name__
        for name in module.__all__:
            assert not name.startswith("_") or name == "__version__"
            assert hasattr(module, name), (module.__name__, name)
