"""The HTTP API at byte level: status codes, bodies, headers, Go decoding, validation."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from nats_fault_harness._version import __version__
from nats_fault_harness.proxy import ProxyServer
from nats_fault_harness.proxy._testing import Upstream


class Http:
    """Raw HTTP against the server: status, headers and body bytes."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        async with self.session.request(
            method, self.url + path, data=data, headers=headers
        ) as response:
            return response.status, dict(response.headers), await response.read()


@pytest_asyncio.fixture
async def http(server: ProxyServer) -> AsyncIterator[Http]:
    async with aiohttp.ClientSession(headers={"User-Agent": "unit-test"}) as session:
        yield Http(session, server.url)


def _error(body: bytes) -> tuple[str, int]:
    assert body.endswith(b"}\n"), body
    data = json.loads(body)
    assert list(data) == ["error", "status"]
    return data["error"], data["status"]


@pytest.mark.asyncio
async def test_version_body_and_headers(http: Http) -> None:
    status, headers, body = await http("GET", "/version")
    assert status == 200
    assert body == b'{"version": "' + __version__.encode() + b'"}\n'
    assert headers["Content-Type"] == "application/json;charset=utf-8"
    assert len(headers["X-Toxiproxy-Request-Id"]) == 20


@pytest.mark.asyncio
async def test_unknown_path_wrong_method_trailing_slash(http: Http) -> None:
    status, headers, body = await http("GET", "/nope")
    assert (status, body) == (404, b"404 page not found\n")
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "X-Toxiproxy-Request-Id" not in headers
    status, headers, body = await http("PUT", "/proxies")
    assert (status, body) == (405, b"")
    assert "X-Toxiproxy-Request-Id" not in headers
    assert (await http("GET", "/proxies/"))[0] == 404


@pytest.mark.asyncio
async def test_browsers_are_refused(http: Http) -> None:
    status, headers, body = await http(
        "GET", "/version", headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64)"}
    )
    assert (status, body) == (403, b"User agent not allowed\n")
    assert "X-Toxiproxy-Request-Id" in headers
    assert (await http("GET", "/version", headers={"User-Agent": "Wget/2.1"}))[0] == 200


@pytest.mark.asyncio
async def test_create_shapes_and_key_order(http: Http, upstream: Upstream) -> None:
    status, headers, body = await http(
        "POST",
        "/proxies",
        {
            "name": "p",
            "upstream": upstream.addr,
            "listen": "127.0.0.1:0",
            "toxics": None,
            "Unknown": [1, 2],
        },
    )
    assert status == 201
    assert headers["Content-Type"] == "application/json"
    proxy = json.loads(body)
    assert list(proxy) == ["name", "listen", "upstream", "enabled", "Logger", "toxics"]
    assert (proxy["enabled"], proxy["toxics"]) == (True, [])
    assert not body.endswith(b"\n")
    status, _, body = await http(
        "POST", "/proxies/p/toxics", {"type": "latency", "attributes": {"latency": 7}}
    )
    assert status == 200
    assert body == (
        b'{"attributes":{"latency":7,"jitter":0},"name":"latency_downstream",'
        b'"type":"latency","stream":"downstream","toxicity":1}'
    )
    status, _, body = await http("GET", "/proxies")
    assert status == 200
    assert list(json.loads(body)) == ["p"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "bad request body: EOF"),
        (b"{", "bad request body: unexpected EOF"),
        (b"nope", "bad request body: invalid character 'n' looking for beginning of value"),
        (b'{"upstream": "x:1"}', "missing required field: name"),
        (b'{"name": "p"}', "missing required field: upstream"),
        (
            b'{"name": 5, "upstream": "x:1"}',
            "bad request body: json: cannot unmarshal number into Go struct field Proxy.name "
            "of type string",
        ),
        (
            b'{"name": "p", "upstream": "x:1", "enabled": "yes"}',
            "bad request body: json: cannot unmarshal string into Go struct field Proxy.enabled "
            "of type bool",
        ),
        (
            b"[]",
            "bad request body: json: cannot unmarshal array into Go value of type toxiproxy.Proxy",
        ),
    ],
)
async def test_create_proxy_errors(http: Http, body: bytes, message: str) -> None:
    status, headers, answer = await http("POST", "/proxies", raw=body)
    assert status == 400
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert _error(answer) == (message, 400)


@pytest.mark.asyncio
async def test_keys_match_case_insensitively_and_trailing_bytes_are_ignored(
    http: Http, upstream: Upstream
) -> None:
    raw = b'{"NAME": "p", "Upstream": "' + upstream.addr.encode() + b'"} trailing garbage'
    status, _, body = await http("POST", "/proxies", raw=raw)
    assert status == 201, body
    assert json.loads(body)["name"] == "p"


@pytest.mark.asyncio
async def test_toxic_defaults_spelling_and_uniqueness(http: Http, upstream: Upstream) -> None:
    await http("POST", "/proxies", {"name": "p", "upstream": upstream.addr})
    status, _, body = await http(
        "POST", "/proxies/p/toxics", {"type": "noop", "stream": "UpStream"}
    )
    assert status == 200
    assert json.loads(body) == {
        "attributes": {},
        "name": "noop_UpStream",
        "type": "noop",
        "stream": "UpStream",
        "toxicity": 1,
    }
    status, _, body = await http(
        "POST", "/proxies/p/toxics", {"type": "latency", "name": "noop_UpStream"}
    )
    assert (status, _error(body)) == (409, ("toxic already exists", 409))
    await http("POST", "/proxies/p/toxics", {"type": "latency", "name": "d1"})
    await http("POST", "/proxies/p/toxics", {"type": "latency", "name": "u2", "stream": "upstream"})
    status, _, body = await http("GET", "/proxies/p/toxics")
    assert [t["name"] for t in json.loads(body)] == ["noop_UpStream", "u2", "d1"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("toxic", "message"),
    [
        (
            {"type": "latency", "stream": "sideways"},
            "stream was invalid, can be either upstream or downstream",
        ),
        ({"type": "walrus"}, "invalid toxic type"),
        ({"stream": "upstream"}, "invalid toxic type"),
        (
            {"type": "latency", "attributes": {"latency": "100"}},
            "bad request body: json: cannot unmarshal string into Go struct field "
            "LatencyToxic.attributes.latency of type int64",
        ),
        (
            {"type": "latency", "attributes": {"latency": 100.5}},
            "bad request body: json: cannot unmarshal number 100.5 into Go struct field "
            "LatencyToxic.attributes.latency of type int64",
        ),
        (
            {"type": "slicer", "attributes": {"average_size": 1.0}},
            "bad request body: json: cannot unmarshal number 1.0 into Go struct field "
            "SlicerToxic.attributes.average_size of type int",
        ),
        (
            {"type": "latency", "toxicity": "1"},
            "bad request body: json: cannot unmarshal string into Go struct field "
            "ToxicWrapper.toxicity of type float32",
        ),
        (
            {"type": "latency", "attributes": {"latency": -1}},
            "bad request body: invalid latency toxic: attribute latency (ms) must be >= 0, got -1",
        ),
        (
            {"type": "latency", "attributes": {"jitter": -5}},
            "bad request body: invalid latency toxic: attribute jitter (ms) must be >= 0, got -5",
        ),
        (
            {"type": "bandwidth", "attributes": {"rate": 0}},
            "bad request body: invalid bandwidth toxic: attribute rate (KB/s) must be >= 1, got 0",
        ),
        (
            {"type": "bandwidth"},
            "bad request body: invalid bandwidth toxic: attribute rate (KB/s) must be >= 1, got 0",
        ),
        (
            {"type": "slow_close", "attributes": {"delay": -1}},
            "bad request body: invalid slow_close toxic: attribute delay (ms) must be >= 0, got -1",
        ),
        (
            {"type": "timeout", "attributes": {"timeout": -1}},
            "bad request body: invalid timeout toxic: attribute timeout (ms) must be >= 0, got -1",
        ),
        (
            {"type": "reset_peer", "attributes": {"timeout": -3}},
            "bad request body: invalid reset_peer toxic: attribute timeout (ms) must be >= 0, "
            "got -3",
        ),
        (
            {"type": "slicer", "attributes": {"average_size": 0}},
            "bad request body: invalid slicer toxic: attribute average_size (bytes) must be >= 1, "
            "got 0",
        ),
        (
            {"type": "slicer", "attributes": {"average_size": 10, "size_variation": 11}},
            "bad request body: invalid slicer toxic: attribute size_variation (11) must be <= "
            "average_size (10)",
        ),
        (
            {"type": "slicer", "attributes": {"average_size": 10, "delay": -1}},
            "bad request body: invalid slicer toxic: attribute delay (us) must be >= 0, got -1",
        ),
        (
            {"type": "limit_data", "attributes": {"bytes": -1}},
            "bad request body: invalid limit_data toxic: attribute bytes (bytes) must be >= 0, "
            "got -1",
        ),
        (
            {"type": "latency", "toxicity": 1.5},
            "bad request body: toxicity must be between 0 and 1, got 1.5",
        ),
        (
            {"type": "latency", "toxicity": -0.1},
            "bad request body: toxicity must be between 0 and 1, got -0.1",
        ),
    ],
)
async def test_toxic_create_errors(
    http: Http, upstream: Upstream, toxic: dict[str, Any], message: str
) -> None:
    await http("POST", "/proxies", {"name": "p", "upstream": upstream.addr})
    status, headers, body = await http("POST", "/proxies/p/toxics", toxic)
    assert status == 400
    assert _error(body) == (message, 400)
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert json.loads((await http("GET", "/proxies/p/toxics"))[2]) == []


@pytest.mark.asyncio
async def test_toxic_update_merges_and_post_equals_patch(http: Http, upstream: Upstream) -> None:
    await http("POST", "/proxies", {"name": "p", "upstream": upstream.addr})
    await http(
        "POST",
        "/proxies/p/toxics",
        {"type": "latency", "toxicity": 0.5, "attributes": {"latency": 100, "jitter": 10}},
    )
    status, _, body = await http(
        "PATCH",
        "/proxies/p/toxics/latency_downstream",
        {"attributes": {"latency": 1000}, "name": "ignored"},
    )
    assert status == 200
    assert json.loads(body) == {
        "attributes": {"latency": 1000, "jitter": 10},
        "name": "latency_downstream",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 0.5,
    }
    status, _, body = await http("POST", "/proxies/p/toxics/latency_downstream", {"toxicity": 0.2})
    assert status == 200
    assert json.loads(body)["toxicity"] == 0.2
    assert json.loads(body)["attributes"] == {"latency": 1000, "jitter": 10}
    status, _, body = await http(
        "PATCH",
        "/proxies/p/toxics/latency_downstream",
        {"attributes": {"latency": -1, "jitter": 1}},
    )
    assert status == 400
    status, _, body = await http("GET", "/proxies/p/toxics/latency_downstream")
    assert json.loads(body)["attributes"] == {"latency": 1000, "jitter": 10}, "changed on error"


@pytest.mark.asyncio
async def test_not_found_errors_and_their_order(http: Http, upstream: Upstream) -> None:
    status, _, body = await http("GET", "/proxies/none/toxics/x")
    assert (status, _error(body)) == (404, ("proxy not found", 404))
    await http("POST", "/proxies", {"name": "p", "upstream": upstream.addr})
    status, _, body = await http("PATCH", "/proxies/p/toxics/x", raw=b"not json")
    assert (status, _error(body)) == (404, ("toxic not found", 404))
    status, _, body = await http("POST", "/proxies/p", raw=b"")
    assert (status, _error(body)) == (400, ("bad request body: EOF", 400))
    assert (await http("DELETE", "/proxies/p/toxics/x"))[0] == 404


@pytest.mark.asyncio
async def test_populate_partial_failure_and_empty(http: Http, upstream: Upstream) -> None:
    entries = [
        {"name": "one", "listen": "127.0.0.1:0", "upstream": upstream.addr},
        {"name": "two", "listen": "local373", "upstream": upstream.addr},
        {"name": "three", "listen": "127.0.0.1:0", "upstream": upstream.addr},
    ]
    status, headers, body = await http("POST", "/populate", entries)
    assert status == 500
    assert headers["Content-Type"] == "application/json"
    data = json.loads(body)
    assert list(data) == ["error", "status", "proxies"]
    assert data["error"] == "listen tcp: address local373: missing port in address"
    assert [p["name"] for p in data["proxies"]] == ["one"]
    assert list(json.loads((await http("GET", "/proxies"))[2])) == ["one"]
    status, _, body = await http("POST", "/populate", [{"name": "x"}, {"upstream": "y:1"}])
    assert status == 400
    assert json.loads(body) == {
        "error": "missing required field: upstream at proxy 1",
        "status": 400,
        "proxies": None,
    }
    status, _, body = await http("POST", "/populate", [])
    assert (status, body) == (201, b'{"proxies":[]}')


@pytest.mark.asyncio
async def test_reset_and_delete_answer_204_with_empty_body(http: Http, upstream: Upstream) -> None:
    await http("POST", "/proxies", {"name": "p", "upstream": upstream.addr})
    assert (await http("POST", "/reset", raw=b"ignored"))[::2] == (204, b"")
    assert (await http("DELETE", "/proxies/p"))[::2] == (204, b"")


@pytest.mark.asyncio
async def test_slow_handlers_answer_503() -> None:
    async with ProxyServer(handler_timeout=0.05) as srv, aiohttp.ClientSession() as session:
        async with session.get(srv.url + "/events?since=0") as response:
            assert response.status == 200
        async with session.get(srv.url + "/events?since=0&wait=2000") as response:
            assert response.status == 503
            assert b"<title>Timeout</title>" in await response.read()
