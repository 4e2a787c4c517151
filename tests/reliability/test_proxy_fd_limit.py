"""The proxy out of file descriptors: populate says exactly what it created, nothing else breaks.

A proxy process runs with ``RLIMIT_NOFILE`` lowered to 128, so a populate of 300 proxies
runs out of sockets part way (each enabled proxy holds one listening socket). Toxiproxy's
populate is not atomic: it stops at the first failure and answers that error together with
the proxies already done, which stay. Before, the failure to get a socket escaped as a bare
500 without the list, leaving the caller blind to what was bound.
"""

from __future__ import annotations

import http.client
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from nats_fault_harness.proxy import ProxyProcess

LIMIT = 128
_PRELUDE = (
    "import resource, sys; "
    f"resource.setrlimit(resource.RLIMIT_NOFILE, ({LIMIT}, {LIMIT})); "
    "from nats_fault_harness.proxy._main import main; sys.exit(main(sys.argv[1:]))"
)


@pytest.fixture
def starved() -> Iterator[ProxyProcess]:
    process = ProxyProcess()
    process.args = [sys.executable, "-c", _PRELUDE, *process.args[3:]]  # same flags, limited
    with process:
        yield process


class _Api:
    """One keep-alive API connection (a new one may not get an fd while the limit is hit)."""

    def __init__(self, proxy: ProxyProcess) -> None:
        self.conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=30)

    def call(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        self.conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        response = self.conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw.strip() else None


def test_populate_past_the_fd_limit_answers_with_what_it_created(starved: ProxyProcess) -> None:
    api = _Api(starved)
    entries = [
        {"name": f"p{i:03d}", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}
        for i in range(300)
    ]
    status, answer = api.call("POST", "/populate", entries)
    assert status == 500, answer
    assert answer["status"] == 500
    assert "socket: too many open files" in answer["error"], answer["error"]
    created = [proxy["name"] for proxy in answer["proxies"]]
    assert 0 < len(created) < LIMIT
    assert created == [entry["name"] for entry in entries[: len(created)]]  # in order, no gap
    status, listed = api.call("GET", "/proxies")
    assert status == 200
    assert sorted(listed) == created  # exactly what the answer said, and they stay
    assert all(proxy["enabled"] for proxy in listed.values())

    # a single create at the limit: a Go-worded 500, nothing added
    status, answer = api.call(
        "POST", "/proxies", {"name": "one-more", "listen": "127.0.0.1:0", "upstream": "x:1"}
    )
    assert status == 500, answer
    assert answer["error"] == "listen tcp 127.0.0.1:0: socket: too many open files"
    status, listed = api.call("GET", "/proxies")
    assert sorted(listed) == created

    # deleting frees the fds: the server serves new connections and creates again
    for name in created:
        assert api.call("DELETE", f"/proxies/{name}")[0] == 204
    fresh = _Api(starved)
    status, answer = fresh.call("POST", "/populate", entries[:10])
    assert status == 201, answer
    assert len(answer["proxies"]) == 10
