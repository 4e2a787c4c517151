"""The toxiproxy fixtures as a user meets them (pytester subprocesses, real proxies)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nats_fault_harness.proxy import ProxyProcess


def test_toxiproxy_fixture_gives_a_working_empty_api(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import socket, urllib.request, json, pytest

        def test_first(toxiproxy, nats_server):
            assert not toxiproxy.external
            assert toxiproxy.has("events") and toxiproxy.has("seed")
            body = json.dumps({"name": "n", "upstream": f"127.0.0.1:{nats_server.port}",
                               "listen": "127.0.0.1:0"}).encode()
            req = urllib.request.Request(toxiproxy.url + "/proxies", data=body, method="POST")
            listen = json.load(urllib.request.urlopen(req))["listen"]
            host, port = listen.rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=2) as s:
                assert s.recv(5) == b"INFO "

        def test_second_starts_empty(toxiproxy):
            assert json.load(urllib.request.urlopen(toxiproxy.url + "/proxies")) == {}

        @pytest.mark.asyncio
        async def test_async_client(toxiproxy):
            async with toxiproxy.client() as client:
                assert await client.proxies() == {}
                assert (await client.extensions())["seed"] == toxiproxy.seed
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--toxiproxy-seed", "7")
    result.assert_outcomes(passed=3)


def test_toxiproxy_client_fixture_drives_our_proxy(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_it(toxiproxy_client, nats_server):
            proxy = toxiproxy_client.create(upstream=f"127.0.0.1:{nats_server.port}",
                                            name="nats")
            proxy.add_toxic(type="latency", attributes={"latency": 50})
            assert [t.type for t in proxy.toxics().values()] == ["latency"]
            assert "nats" in toxiproxy_client.proxies()
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_external_url_is_used_and_feature_detected(pytester: pytest.Pytester) -> None:
    with ProxyProcess(seed=3) as external:
        pytester.makepyfile(
            f"""
            def test_it(toxiproxy):
                assert toxiproxy.external
                assert toxiproxy.url == {external.url!r}
                assert toxiproxy.seed == 3
            """
        )
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--toxiproxy-url", external.url
        )
        result.assert_outcomes(passed=1)
        env_run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            cwd=pytester.path,
            env={**os.environ, "TOXIPROXY_URL": external.url},
            capture_output=True,
            text=True,
            check=False,
        )
        assert "1 passed" in env_run.stdout, env_run.stdout + env_run.stderr


def test_unreachable_external_url_is_a_clear_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_it(toxiproxy):\n    pass\n")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--toxiproxy-url", "http://127.0.0.1:9"
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*cannot reach the proxy API at http://127.0.0.1:9*"])


def test_cli_toxiproxy_runs_stand_alone(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "nats-harness"
    proc = subprocess.Popen(
        [str(script), "toxiproxy", "--port", "0", "--seed", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("toxiproxy listening on http://127.0.0.1:"), line
        import json
        import urllib.request

        url = line.split()[-1]
        assert json.load(urllib.request.urlopen(url + "/extensions", timeout=5))["seed"] == 5
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_missing_extension_skips_with_a_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.proxy_extension("events", "teleport")
        def test_needs_teleport(toxiproxy):
            raise AssertionError("must not run")

        @pytest.mark.proxy_extension("events", "seed")
        def test_has_them(toxiproxy):
            assert toxiproxy.has("events")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*lacks extension(s) teleport (a real Toxiproxy*"])


def test_a_killed_session_proxy_is_replaced_for_later_tests(pytester: pytest.Pytester) -> None:
    """SIGKILL of the session's proxy process: the next test gets a new one, not a setup
    error, and the run says so with a ProxyRestartedWarning."""
    pytester.makepyfile(
        """
        import json, os, signal, socket, time, urllib.request

        seen = {}

        def test_kill_it(toxiproxy):
            seen["url"] = toxiproxy.url
            os.kill(toxiproxy.process.pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while toxiproxy.process.is_running:
                assert time.monotonic() < deadline, "the proxy did not die"
                time.sleep(0.02)

        def test_gets_a_new_proxy(toxiproxy, nats_server):
            assert toxiproxy.url != seen["url"]
            assert toxiproxy.process.is_running
            assert toxiproxy.seed == 7 and toxiproxy.has("events")
            assert json.load(urllib.request.urlopen(toxiproxy.url + "/proxies")) == {}
            body = json.dumps({"name": "n", "upstream": f"127.0.0.1:{nats_server.port}",
                               "listen": "127.0.0.1:0"}).encode()
            req = urllib.request.Request(toxiproxy.url + "/proxies", data=body, method="POST")
            host, port = json.load(urllib.request.urlopen(req))["listen"].rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=2) as s:
                assert s.recv(5) == b"INFO "

        def test_and_the_fixtures_built_on_it(nats_link):
            assert nats_link.url.startswith("nats://127.0.0.1:")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--toxiproxy-seed", "7")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        ["*ProxyRestartedWarning: the harness's proxy at http*had exited (code -9)*"]
    )
