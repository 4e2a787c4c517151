"""Hostile input to the proxy API: malformed and extreme requests never break the server.

A hypothesis-driven fuzz of every endpoint with wrong types, huge numbers, unicode and
odd names, missing and unknown fields, non-JSON bodies and duplicate creates. Every
answer must come within a deadline and be a 4xx or 2xx, a 5xx only for a listen address
that fails to bind or resolve (Toxiproxy answers those with 500 too, e.g. ``address
99999: invalid port``), and the server must keep serving (``GET /version`` after every
request).
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harness.proxy import ProxyProcess

pytestmark = pytest.mark.slow

DEADLINE_S = 10.0
# listen failures (bind or resolve), which Toxiproxy answers with 500 and the Go error text
BIND_FAILURE = (
    "bind",
    "address already in use",
    "cannot assign requested address",
    "invalid port",
    "no such host",
    "name or service not known",
    "temporary failure in name resolution",
)


@pytest.fixture(scope="module")
def proxy() -> Iterator[ProxyProcess]:
    with ProxyProcess() as process:
        yield process


def call(proxy: ProxyProcess, method: str, path: str, body: bytes | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=DEADLINE_S)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def clean(proxy: ProxyProcess) -> None:
    status, text = call(proxy, "GET", "/proxies")
    assert status == 200, text
    for name in json.loads(text):
        call(proxy, "DELETE", "/proxies/" + quote(name, safe=""))


names = st.one_of(
    st.sampled_from(["p", "P", "a.b", "x-y_z", "", " ", "..", "%2F", "名前", "p" * 300]),
    st.text(max_size=20),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from([1e308, -1e308, 2**63, -(2**63) - 1, "127.0.0.1:0", "localhost:99999"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
listens = st.sampled_from(
    [
        "127.0.0.1:0",
        "localhost:0",
        "[::1]:0",
        "127.0.0.1:1",
        "127.0.0.1:99999",
        "nowhere:0",
        "",
        ":",
        "1.2.3.4:0",
    ]
)


@st.composite
def proxy_bodies(draw: st.DrawFn) -> Any:
    body: dict[str, Any] = {
        "name": draw(names),
        "listen": draw(listens),
        "upstream": draw(listens),
        "enabled": draw(st.booleans()),
    }
    for key in draw(st.lists(st.sampled_from([*body, "extra"]), max_size=3)):
        if draw(st.booleans()):
            body.pop(key, None)
        else:
            body[key] = draw(json_values)
    return body


@st.composite
def toxic_bodies(draw: st.DrawFn) -> Any:
    kind = draw(
        st.sampled_from(
            [
                "latency",
                "bandwidth",
                "slow_close",
                "timeout",
                "reset_peer",
                "slicer",
                "limit_data",
                "nats",
                "reset_after",
                "nope",
                "",
            ]
        )
    )
    body: dict[str, Any] = {
        "name": draw(names),
        "type": kind,
        "stream": draw(st.sampled_from(["upstream", "downstream", "sideways", ""])),
        "toxicity": draw(st.one_of(st.floats(allow_nan=False), st.integers(), st.text(max_size=3))),
        "attributes": draw(st.dictionaries(st.text(max_size=10), json_values, max_size=4)),
    }
    if draw(st.booleans()):
        body["attributes"] = draw(json_values)
    return body


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, bytes | None]:
    proxy = quote(draw(names), safe="")
    toxic = quote(draw(names), safe="")
    method, path = draw(
        st.sampled_from(
            [
                ("POST", "/proxies"),
                ("POST", "/populate"),
                ("POST", "/reset"),
                ("GET", "/proxies/{p}"),
                ("POST", "/proxies/{p}"),
                ("PATCH", "/proxies/{p}"),
                ("DELETE", "/proxies/{p}"),
                ("GET", "/proxies/{p}/toxics"),
                ("POST", "/proxies/{p}/toxics"),
                ("GET", "/proxies/{p}/toxics/{t}"),
                ("POST", "/proxies/{p}/toxics/{t}"),
                ("DELETE", "/proxies/{p}/toxics/{t}"),
                ("GET", "/proxies/{p}/connections"),
                ("POST", "/proxies/{p}/connections/reset"),
                ("GET", "/events?since=" + quote(draw(st.text(max_size=8)), safe="")),
                ("PUT", "/proxies"),
            ]
        )
    )
    path = path.replace("{p}", proxy).replace("{t}", toxic)
    kind = draw(st.sampled_from(["proxy", "toxic", "list", "json", "bytes", "none"]))
    body: bytes | None
    if kind == "proxy":
        body = json.dumps(draw(proxy_bodies())).encode()
    elif kind == "toxic":
        body = json.dumps(draw(toxic_bodies())).encode()
    elif kind == "list":
        body = json.dumps(draw(st.lists(proxy_bodies(), max_size=3))).encode()
    elif kind == "json":
        body = json.dumps(draw(json_values)).encode()
    elif kind == "bytes":
        body = draw(st.binary(max_size=64))
    else:
        body = None
    return method, path, body


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(requests(), min_size=1, max_size=5))
@example(  # found by this fuzz in a -n 4 run: an update to an invalid port answers 500
    batch=[
        (
            "POST",
            "/proxies/p",
            b'{"name": "p", "listen": "127.0.0.1:99999", "upstream": "127.0.0.1:0", '
            b'"enabled": false}',
        )
    ]
)
def test_no_request_breaks_the_api(
    proxy: ProxyProcess, batch: list[tuple[str, str, bytes | None]]
) -> None:
    try:
        # set up something to hit: a valid proxy "p" with a toxic "t"
        call(
            proxy,
            "POST",
            "/proxies",
            json.dumps({"name": "p", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}).encode(),
        )
        call(
            proxy,
            "POST",
            "/proxies/p/toxics",
            json.dumps({"name": "t", "type": "latency", "attributes": {"latency": 1}}).encode(),
        )
        for method, path, body in batch:
            status, text = call(proxy, method, path, body)
            assert status < 500 or any(b in text.lower() for b in BIND_FAILURE), (
                f"{method} {path} {body!r} -> {status} {text}"
            )
            version, _ = call(proxy, "GET", "/version")
            assert version == 200
    finally:
        clean(proxy)


def test_concurrent_create_and_delete_keep_the_api_consistent(proxy: ProxyProcess) -> None:
    errors: list[str] = []
    stop = threading.Event()

    def churn(worker: int) -> None:
        n = 0
        while not stop.is_set() and n < 150:
            name = f"c{n % 5}"
            body = json.dumps({"name": name, "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"})
            for method, path, data in (
                ("POST", "/proxies", body.encode()),
                (
                    "POST",
                    f"/proxies/{name}/toxics",
                    json.dumps({"type": "latency", "attributes": {"latency": worker}}).encode(),
                ),
                ("DELETE", f"/proxies/{name}", None),
            ):
                status, text = call(proxy, method, path, data)
                if status >= 500:
                    errors.append(f"{method} {path} -> {status} {text}")
            n += 1

    threads = [threading.Thread(target=churn, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    stop.set()
    assert not errors, errors[:5]
    status, text = call(proxy, "GET", "/proxies")
    assert status == 200
    listed = json.loads(text)
    for name, info in listed.items():  # whatever survived is whole and serves
        assert info["name"] == name
        assert call(proxy, "GET", f"/proxies/{name}/toxics")[0] == 200
    clean(proxy)
    assert json.loads(call(proxy, "GET", "/proxies")[1]) == {}
