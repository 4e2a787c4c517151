"""The plugin's fixtures as a user meets them, driven through pytester in a subprocess."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nats_fault_harness import _proc

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return (
        Path(f"/proc/{pid}").exists()
        and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
    )


def test_sync_and_async_tests_get_running_servers(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = strict\n")
    pytester.makepyfile(
        """
        import json, os, pytest, nats

        def test_sync(nats_server):
            assert nats_server.healthz()["status"] == "ok"

        @pytest.mark.asyncio
        async def test_async(nats_server):
            nc = await nats.connect(nats_server.url)
            sub = await nc.subscribe("x")
            await nc.publish("x", b"1")
            assert (await sub.next_msg(timeout=2)).data == b"1"
            await nc.close()

        def test_factory(nats_server_factory):
            a = nats_server_factory(jetstream=True, name="alpha")
            b = nats_server_factory(start=False)
            assert a.jsz()["config"]["store_dir"]
            assert a.name == "alpha" and not b.is_running
            with open(os.environ["PIDS_FILE"], "w") as f:
                json.dump([a.pid], f)

        def test_cluster(nats_cluster_factory):
            c = nats_cluster_factory(size=2)
            assert len(c[0].remote_route_ids()) == 1
        """
    )
    pids_file = pytester.path / "pids.json"
    os.environ["PIDS_FILE"] = str(pids_file)
    try:
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    finally:
        del os.environ["PIDS_FILE"]
    result.assert_outcomes(passed=4)
    (pid,) = json.loads(pids_file.read_text())
    assert not _alive(pid), "the factory must stop what it started"


def test_nats_server_bin_option_is_honoured(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_it(nats_server):
            pass
        """
    )
    result = pytester.runpytest_subprocess("--nats-server-bin", "/nonexistent/nats-server")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*nats_server_bin = '/nonexistent/nats-server': no such file*"])


def test_ini_key_is_honoured(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nnats_server_bin = /nowhere/nats-server\n")
    pytester.makepyfile("def test_it(nats_server_factory):\n    nats_server_factory()\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*/nowhere/nats-server*no such file*"])


def test_fixtures_are_safe_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("i", range(8))
        def test_many(i, nats_server, nats_server_factory):
            s = nats_server_factory()
            assert s.port != nats_server.port
            assert s.healthz()["status"] == "ok"
        """
    )
    result = pytester.runpytest_subprocess("-n", "4", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=8)


def test_plugin_import_is_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, nats_fault_harness.pytest_plugin; "
        "heavy = [m for m in ('nats', 'aiohttp', 'hypothesis', 'jinja2', 'pydantic', "
        "'nats_fault_harness.servers') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_session_that_asks_for_no_profile_does_not_import_hypothesis(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("import sys\ndef test_it():\n    assert 'hypothesis' not in sys.modules\n")
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    # asked for, the profiles are registered before hypothesis's plugin loads one
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--hypothesis-profile", "nats-ci"
    )
    result.assert_outcomes(failed=1)  # now hypothesis is imported


def test_registry_is_empty_of_our_children_after_a_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_it(nats_server):\n    assert nats_server.is_running\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    # Only this run's records (its servers live under pytester's folder): other pytest
    # processes on the machine may hold records of their own at the same moment.
    leftovers = [
        json.loads(entry.read_text())
        for entry in _proc.registry_dir().glob("*.json")
        if str(pytester.path) in entry.read_text()
    ]
    assert leftovers == []
