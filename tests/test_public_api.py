"""Pin the curated public surface so it changes only on purpose."""

from __future__ import annotations

import harness
import harness.errors
import harness.servers


def test_top_level_api() -> None:
    assert harness.__all__ == ["__version__", "wait_until", "wait_until_async"]


def test_servers_api() -> None:
    assert sorted(harness.servers.__all__) == [
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
    for name in harness.errors.__all__:
        cls = getattr(harness.errors, name)
        assert issubclass(cls, harness.errors.NatsFaultError), name
