"""The stand-alone server: ``python -m nats_fault_harness.proxy``, ProxyProcess, fixture support."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nats_fault_harness.proxy import ProxyProcess, ProxyStartError, load_config
from nats_fault_harness.proxy._fixtures_support import open_toxiproxy, reset_toxiproxy, sync_request
from nats_fault_harness.proxy._main import build_parser


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_process_prints_ready_line_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nats_fault_harness.proxy",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--seed",
            "5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().rstrip("\n")
        assert line.startswith("toxiproxy listening on http://127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        url = f"http://127.0.0.1:{port}"
        assert sync_request(url, "GET", "/extensions")[1]["seed"] == 5
        status, proxy = sync_request(
            url, "POST", "/proxies", {"name": "p", "upstream": "127.0.0.1:9"}
        )
        assert status == 201
        proxy_port = int(proxy["listen"].rsplit(":", 1)[1])
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stdout.read() == ""
        assert _refused(proxy_port)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_proxy_process_lifecycle() -> None:
    with ProxyProcess(seed=11) as proxy:
        assert proxy.is_running
        assert proxy.url == f"http://127.0.0.1:{proxy.port}"
        status, version = sync_request(proxy.url, "GET", "/version")
        assert status == 200
        assert "version" in version
        pid = proxy.pid
    assert not proxy.is_running
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_bad_config_fails_start_naming_file_and_entry(tmp_path: Path) -> None:
    config = tmp_path / "proxies.json"
    config.write_text(
        json.dumps(
            [
                {"name": "ok", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:9"},
                {"listen": "127.0.0.1:0", "upstream": "127.0.0.1:9"},
            ]
        )
    )
    started = time.monotonic()
    with pytest.raises(ProxyStartError) as caught:
        ProxyProcess(config_path=config).start()
    assert time.monotonic() - started < 10
    assert caught.value.exit_code == 2
    assert f"config file {config}: entry 2: missing required field: name" in str(caught.value)


def test_config_entry_that_cannot_bind_is_named(tmp_path: Path) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    config = tmp_path / "proxies.json"
    config.write_text(
        json.dumps(
            [
                {"name": "clash", "listen": f"127.0.0.1:{port}", "upstream": "127.0.0.1:9"},
            ]
        )
    )
    try:
        with pytest.raises(ProxyStartError) as caught:
            ProxyProcess(config_path=config).start()
    finally:
        holder.close()
    assert f"config file {config}: entry 1 (clash): listen tcp" in str(caught.value)
    assert "address already in use" in str(caught.value)


def test_load_config_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(ValueError, match=r"missing\.json: cannot read"):
        load_config(missing)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=r"bad\.json: not JSON"):
        load_config(bad)
    wrong = tmp_path / "wrong.json"
    wrong.write_text('[{"name": "a", "upstream": "x:1", "enabled": "no"}]')
    with pytest.raises(ValueError, match=r"wrong\.json: entry 1: bad request body: .*enabled"):
        load_config(wrong)
    good = tmp_path / "good.json"
    good.write_text('[{"name": "a", "upstream": "x:1"}]')
    assert [(c.name, c.listen, c.enabled) for c in load_config(good)] == [
        ("a", "127.0.0.1:0", True)  # no listen: loopback, not every interface as in Toxiproxy
    ]


def test_parser_accepts_toxiproxy_style_flags() -> None:
    args = build_parser("nats-harness toxiproxy").parse_args(
        ["-host", "localhost", "-port", "0", "-seed", "3", "-config", "x.json"]
    )
    assert (args.host, args.port, args.seed, args.config) == ("localhost", 0, 3, "x.json")


def test_fixture_support_starts_resets_and_uses_external(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOXIPROXY_URL", raising=False)
    with open_toxiproxy(seed=21) as endpoint:
        assert not endpoint.external
        assert endpoint.seed == 21
        assert endpoint.has("events")
        sync_request(endpoint.url, "POST", "/proxies", {"name": "a", "upstream": "127.0.0.1:9"})
        monkeypatch.setenv("TOXIPROXY_URL", endpoint.url)
        with open_toxiproxy() as external:
            assert external.external
            assert (external.url, external.port) == (endpoint.url, endpoint.port)
        reset_toxiproxy(endpoint.url)
        assert sync_request(endpoint.url, "GET", "/proxies") == (200, {})
        process = endpoint.process
        assert process is not None
    assert not process.is_running


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "fake-python"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


def test_silent_child_times_out_and_is_killed(tmp_path: Path) -> None:
    fake = _script(tmp_path, "echo starting >&2\nexec sleep 30")
    proxy = ProxyProcess(python=fake, start_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ProxyStartError) as caught:
        proxy.start()
    assert time.monotonic() - started < 5
    assert caught.value.exit_code is None
    assert "no ready line within 0.5s" in str(caught.value)
    assert caught.value.log_tail == ("starting",)
    assert not proxy.is_running


def test_child_exiting_early_reports_code_and_stderr(tmp_path: Path) -> None:
    fake = _script(tmp_path, "echo 'boom: bad things' >&2\nexit 3")
    with pytest.raises(ProxyStartError) as caught:
        ProxyProcess(python=fake).start()
    assert caught.value.exit_code == 3
    assert "boom: bad things" in str(caught.value)
