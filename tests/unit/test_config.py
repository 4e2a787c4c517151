"""render_config is pure: check the text it produces and the errors it raises."""

from __future__ import annotations

from pathlib import Path

import pytest

from nats_fault_harness.errors import ConfigError
from nats_fault_harness.servers import Auth, ClusterSpec, ServerConfig, render_config


def test_defaults_render_random_ports_and_lame_duck() -> None:
    text = render_config(ServerConfig(), name="a")
    assert 'server_name: "a"' in text
    assert "port: -1" in text
    assert 'http: "127.0.0.1:-1"' in text
    assert 'lame_duck_duration: "30s"' in text
    assert "jetstream" not in text
    assert "cluster" not in text


def test_seconds_become_milliseconds_and_strings_pass_through() -> None:
    text = render_config(ServerConfig(ping_interval=1.5, write_deadline="2s", ping_max=3), name="a")
    assert 'ping_interval: "1500ms"' in text
    assert 'write_deadline: "2s"' in text
    assert "ping_max: 3" in text


def test_fixed_ports_and_jetstream_store(tmp_path: Path) -> None:
    text = render_config(
        ServerConfig(jetstream=True), name="a", port=4333, http_port=8333, store_dir=tmp_path
    )
    assert "port: 4333" in text
    assert 'http: "127.0.0.1:8333"' in text
    assert f'store_dir: "{tmp_path}"' in text


def test_user_password_and_token_auth() -> None:
    text = render_config(ServerConfig(auth=Auth(user="u", password="p")), name="a")
    assert 'authorization { user: "u", password: "p" }' in text
    text = render_config(ServerConfig(auth=Auth(token="t0k")), name="a")
    assert 'authorization { token: "t0k" }' in text


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"user": "u", "password": "p", "token": "t"}, "not both"),
        ({"user": "u"}, "both be non-empty"),
        ({}, "non-empty token"),
    ],
)
def test_bad_auth_is_rejected(kwargs: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        Auth(**kwargs)


def test_cluster_block() -> None:
    spec = ClusterSpec(
        name="c1",
        port=6222,
        routes=("nats://127.0.0.1:7000",),
        advertise="127.0.0.1:9000",
        pool_size=1,
    )
    text = render_config(ServerConfig(), name="a", cluster=spec)
    assert 'name: "c1"' in text
    assert 'listen: "127.0.0.1:6222"' in text
    assert 'advertise: "127.0.0.1:9000"' in text
    assert "pool_size: 1" in text
    assert 'routes: ["nats://127.0.0.1:7000"]' in text


@pytest.mark.parametrize(
    ("config", "field"),
    [
        (ServerConfig(ping_interval=-1), "ping_interval"),
        (ServerConfig(write_deadline=""), "write_deadline"),
        (ServerConfig(max_payload=0), "max_payload"),
        (ServerConfig(ping_max=True), "ping_max"),  # type: ignore[arg-type]
        (ServerConfig(jetstream=True), "store_dir"),
        (ServerConfig(extra={"bad key": 1}), "extra"),
    ],
)
def test_bad_values_name_the_field(config: ServerConfig, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        render_config(config, name="a")
    assert info.value.where == field
    assert field.split("_")[0] in str(info.value)


def test_extra_keys_render_as_json() -> None:
    text = render_config(ServerConfig(extra={"max_connections": 10}), name="a")
    assert "max_connections: 10" in text


def test_with_returns_a_changed_copy() -> None:
    base = ServerConfig()
    changed = base.with_(jetstream=True)
    assert changed.jetstream
    assert not base.jetstream
