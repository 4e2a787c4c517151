"""A test that raises, or forgets to heal, leaves nothing behind for the next one."""

from __future__ import annotations

import pytest


def test_faults_are_healed_after_a_failing_test(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = strict\n")
    pytester.makepyfile(
        """
        import json, socket, urllib.request

        STATE = {}

        def test_leaves_a_mess(nats_link, nats_server, server_faults, toxiproxy):
            nats_link.latency(5000)()          # open-ended, never healed
            server_faults(nats_server).pause()()
            STATE["proxy"] = nats_link.proxy
            raise RuntimeError("the body failed")

        def test_next_test_is_clean(nats_server, toxiproxy):
            proxies = json.load(urllib.request.urlopen(toxiproxy.url + "/proxies"))
            assert STATE["proxy"] not in proxies
            assert all(not p["toxics"] for p in proxies.values())
            assert not nats_server.is_paused
            with socket.create_connection(("127.0.0.1", nats_server.port), timeout=1) as s:
                assert s.recv(5) == b"INFO "
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*RuntimeError: the body failed*"])


def test_history_shows_the_window_closed_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        def check(nats_history):
            yield
            (window,) = nats_history.faults()
            assert window.kind == "latency" and window.end is not None

        def test_forgets_to_heal(check, nats_link):
            nats_link.latency(100)()
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
