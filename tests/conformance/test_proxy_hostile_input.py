"""Hostile input to the API (issue 19): odd text, inputs that cost more than they look.

Text that is not clean UTF-8 is replaced by U+FFFD at the edge, as Go's JSON decoder does
for Toxiproxy (lone surrogate escapes and invalid UTF-8 bytes); NUL, control characters and
BOMs inside strings are kept, as in Go. Expensive inputs (deep nesting, numbers beyond what
Python or Go converts, bodies over 16 MiB) are answered 400/413 naming the problem, never
500. Every rejected request changes nothing, and every endpoint keeps answering.
"""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import quote

import pytest

from ._support import ProxyApi, echo_roundtrip, is_open, local_addr
from ._upstream import Sockets, Upstream

INT64_MAX = 2**63 - 1


def path_of(name: str) -> str:
    return "/proxies/" + quote(name, safe="", errors="surrogatepass")


def listing(api: ProxyApi) -> dict[str, Any]:
    """``GET /proxies``, checked to be strict UTF-8 JSON."""
    resp = api.get("/proxies")
    assert resp.status == 200, resp.body
    data: dict[str, Any] = json.loads(resp.body.decode("utf-8"))
    return data


def all_answer(api: ProxyApi) -> None:
    """Every read endpoint answers, in strict UTF-8, for every proxy and toxic listed."""
    for name, proxy in listing(api).items():
        for path in ("", "/toxics", "/connections"):
            resp = api.get(path_of(name) + path)
            assert resp.status == 200, (name, path, resp.body)
            resp.body.decode("utf-8")
        for toxic in proxy["toxics"]:
            resp = api.get(f"{path_of(name)}/toxics/{quote(toxic['name'], safe='')}")
            assert resp.status == 200, (name, toxic, resp.body)
    events = api.get("/events?since=0")
    assert events.status == 200, events.body
    json.loads(events.body.decode("utf-8"))
    assert api.get("/version").status == 200


def rejected(api: ProxyApi, method: str, path: str, data: bytes, status: int) -> str:
    """Send ``data``; expect ``status`` and an unchanged listing; return the error text."""
    before = listing(api)
    resp = api.request(method, path, data=data, headers={"Content-Type": "application/json"})
    assert resp.status == status, (resp.status, resp.body[:300])
    error = resp.error()
    assert "Traceback" not in error
    assert len(error) < 400, error
    assert listing(api) == before
    all_answer(api)
    return error


def body(**fields: Any) -> bytes:
    return json.dumps(fields).encode()  # ensure_ascii: a surrogate goes out as "\udcff"


# ------------------------------------------------------------------ text that is not UTF-8


@pytest.mark.parametrize("odd", ["\udcff", "a\ud800b", "\ude00\ud83d", "x\udfff\udbff"])
def test_lone_surrogates_in_a_proxy_name_become_replacement_characters(
    api: ProxyApi, echo: Upstream, odd: str
) -> None:
    """Go replaces each lone surrogate by U+FFFD; the proxy is whole and deletable."""
    expected = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in odd)
    resp = api.post("/proxies", data=body(name=odd, upstream=echo.addr, listen="127.0.0.1:0"))
    assert resp.status == 201, resp.body
    assert resp.json()["name"] == expected
    assert list(listing(api)) == [expected]
    all_answer(api)
    assert api.delete(path_of(expected)).status == 204
    assert listing(api) == {}


def test_a_valid_surrogate_pair_is_kept(api: ProxyApi, echo: Upstream) -> None:
    resp = api.post(
        "/proxies", data=b'{"name":"\\ud83d\\ude00","upstream":"%s"}' % echo.addr.encode()
    )
    assert resp.status == 201, resp.body
    assert resp.json()["name"] == "\U0001f600"


def test_invalid_utf8_bytes_in_strings_are_replaced(api: ProxyApi, echo: Upstream) -> None:
    raw = b'{"name":"a\xffb\xed\xb3\xbf","upstream":"%s"}' % echo.addr.encode()
    resp = api.post("/proxies", data=raw)
    assert resp.status == 201, resp.body
    assert resp.json()["name"] == "a\ufffdb\ufffd\ufffd\ufffd"
    all_answer(api)


@pytest.mark.parametrize(
    "name",
    ["\x00", "a\x01\x1f\x7fb", "\ufeffbom", "\u2028\u2029", "\x1b[31m", "{", "a}b", "{x}"],
)
def test_nul_control_characters_and_boms_in_names_are_kept(
    api: ProxyApi, echo: Upstream, name: str
) -> None:
    """Valid Unicode, so Go keeps it; so do we, and it is reachable by its escaped path
    (braces included: aiohttp's default path segment pattern excluded them)."""
    proxy = api.post("/proxies", data=body(name=name, upstream=echo.addr))
    assert proxy.status == 201, proxy.body
    assert proxy.json()["name"] == name
    toxic = api.post(path_of(name) + "/toxics", data=body(name=name, type="latency"))
    assert toxic.status == 200, toxic.body
    assert toxic.json()["name"] == name
    all_answer(api)
    assert api.delete(f"{path_of(name)}/toxics/{quote(name, safe='')}").status == 204
    assert api.delete(path_of(name)).status == 204


def test_odd_text_in_every_other_string_field(api: ProxyApi, echo: Upstream) -> None:
    """upstream, toxic name, type, stream, attribute values: replaced or refused, never 500."""
    created = api.post("/proxies", data=body(name="p", upstream="h\udcff:1"))
    assert created.status == 201, created.body
    assert created.json()["upstream"] == "h\ufffd:1"
    error = rejected(
        api, "POST", "/proxies", body(name="q", upstream=echo.addr, listen="\udcff:0"), 500
    )
    assert error == "listen tcp: lookup \ufffd: no such host"
    assert rejected(api, "POST", "/proxies/p/toxics", body(type="lat\udcffency"), 400) == (
        "invalid toxic type"
    )
    assert "stream was invalid" in rejected(
        api, "POST", "/proxies/p/toxics", body(type="latency", stream="up\udcff"), 400
    )
    toxic = api.post(
        "/proxies/p/toxics",
        data=body(name="t\ud800", type="latency", attributes={"connect_name": "n\udcff*"}),
    )
    assert toxic.status == 200, toxic.body
    assert toxic.json()["name"] == "t\ufffd"
    assert toxic.json()["attributes"]["connect_name"] == "n\ufffd*"
    nats = api.post(
        "/proxies/p/toxics",
        data=body(name="n", type="nats", attributes={"verb": "PUB", "subject": "a.\udcff"}),
    )
    assert nats.status in (200, 400), nats.body
    all_answer(api)


def test_a_key_with_a_lone_surrogate_is_an_unknown_key(api: ProxyApi, echo: Upstream) -> None:
    error = rejected(
        api, "POST", "/proxies", b'{"na\\udcffme":"x","upstream":"%s"}' % echo.addr.encode(), 400
    )
    assert error == "missing required field: name"


def test_a_leading_bom_or_raw_control_byte_is_not_json(api: ProxyApi) -> None:
    """Go: ``invalid character 'ï' looking for beginning of value``; any 400 naming it."""
    assert "invalid character" in rejected(
        api, "POST", "/proxies", b'\xef\xbb\xbf{"name":"a"}', 400
    )
    assert "invalid character" in rejected(
        api, "POST", "/proxies", b'{"name":"a\x01","upstream":"b:1"}', 400
    )


@pytest.mark.parametrize(
    "path",
    [
        "/proxies/%ff",
        "/proxies/%ED%B3%BF",
        "/proxies/%00",
        "/proxies/%",
        "/proxies/%zz",
        "/proxies/a%2Fb",
        "/proxies/%ff/toxics/%ED%B3%BF",
        "/proxies/%00/toxics",
    ],
)
def test_odd_bytes_in_url_paths_are_not_found(api: ProxyApi, path: str) -> None:
    for method in ("GET",) if path.endswith("/toxics") else ("GET", "DELETE"):
        resp = api.request(method, path)
        assert resp.status == 404, (method, path, resp.body)
        assert resp.json()["status"] == 404


@pytest.mark.parametrize("raw", [b"/proxies/\xff", b"/proxies/\xed\xb3\xbf", b"/proxies/\x01"])
def test_raw_bytes_in_the_request_line_are_a_400(api: ProxyApi, raw: bytes) -> None:
    """Not valid HTTP: refused by the HTTP parser with 400 (not JSON), and the API lives on."""
    with socket.create_connection((api.host, api.port), timeout=5) as sock:
        sock.sendall(b"GET " + raw + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = sock.recv(65536)
    assert answer.split(b"\r\n")[0].split(b" ")[1] == b"400", answer[:200]
    all_answer(api)


# ------------------------------------------------------------------ inputs that cost more


@pytest.mark.parametrize("opener", ["[", '{"a":'])
@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_deep_nesting_is_a_400(api: ProxyApi, opener: str, depth: int) -> None:
    for data in (
        opener.encode() * depth,
        b'{"name":"x","upstream":"y:1","extra":' + opener.encode() * depth,
    ):
        error = rejected(api, "POST", "/proxies", data, 400)
        assert error.startswith("bad request body: exceeded max depth"), error


def test_nesting_inside_toxic_attributes_is_a_400(api: ProxyApi, echo: Upstream) -> None:
    api.post("/proxies", data=body(name="p", upstream=echo.addr))
    data = b'{"type":"latency","attributes":{"latency":' + b"[" * 50_000 + b"}"
    assert "exceeded max depth" in rejected(api, "POST", "/proxies/p/toxics", data, 400)


@pytest.mark.parametrize("digits", [4_301, 50_000, 1_000_000])
def test_integers_beyond_python_conversion_get_go_type_errors(
    api: ProxyApi, echo: Upstream, digits: int
) -> None:
    big = b"9" * digits
    error = rejected(api, "POST", "/proxies", b'{"name":' + big + b"}", 400)
    assert error == (
        "bad request body: json: cannot unmarshal number into Go struct field Proxy.name "
        "of type string"
    )
    api.post("/proxies", data=body(name="p", upstream=echo.addr))
    error = rejected(
        api,
        "POST",
        "/proxies/p/toxics",
        b'{"type":"latency","attributes":{"latency":' + big + b"}}",
        400,
    )
    assert "cannot unmarshal number 9999" in error
    assert "of type int64" in error
    assert f"({digits} characters)" in error  # the echo is cut, not megabytes long
    error = rejected(
        api, "POST", "/proxies/p/toxics", b'{"type":"latency","toxicity":-' + big + b"}", 400
    )
    assert "ToxicWrapper.toxicity of type float32" in error
    # an unknown key is ignored, as by Go's decoder
    resp = api.post(
        "/proxies", data=b'{"name":"q","upstream":"%s","x":%s}' % (echo.addr.encode(), big)
    )
    assert resp.status == 201, resp.body[:200]


@pytest.mark.parametrize(
    ("toxic", "attributes", "fragment"),
    [
        (
            "latency",
            {"latency": 1e40},
            "number 1e+40 into Go struct field LatencyToxic.attributes.latency of type int64",
        ),
        ("bandwidth", {"rate": 1e30}, "BandwidthToxic.attributes.rate of type int64"),
        ("latency", {"jitter": 2**63}, "number 9223372036854775808 into"),
        ("slicer", {"delay": -(2**63) - 1}, "SlicerToxic.attributes.delay of type int"),
        ("nats", {"action": "drop", "probability": 10**400}, "of type float64"),
    ],
)
def test_numbers_beyond_int64_or_float64_are_a_400(
    api: ProxyApi, echo: Upstream, toxic: str, attributes: dict[str, Any], fragment: str
) -> None:
    api.post("/proxies", data=body(name="p", upstream=echo.addr))
    error = rejected(api, "POST", "/proxies/p/toxics", body(type=toxic, attributes=attributes), 400)
    assert fragment in error, error


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity", b"1e99999"])
def test_nan_infinity_and_overflowing_toxicity_are_a_400(
    api: ProxyApi, echo: Upstream, token: bytes
) -> None:
    api.post("/proxies", data=body(name="p", upstream=echo.addr))
    rejected(api, "POST", "/proxies/p/toxics", b'{"type":"latency","toxicity":' + token + b"}", 400)
    rejected(api, "POST", "/proxies/p/toxics", b'{"type":"latency","toxicity":1e40}', 400)


def test_a_body_over_16_mib_is_a_413_naming_the_limit(api: ProxyApi, echo: Upstream) -> None:
    payload = body(name="big", upstream=echo.addr) + b" " * (17 << 20)
    error = rejected(api, "POST", "/proxies", payload, 413)
    assert error == "request body too large: more than 16777216 bytes (16 MiB)"
    resp = api.post("/proxies", data=body(name="small", upstream=echo.addr) + b" " * (1 << 20))
    assert resp.status == 201, resp.body


def test_a_long_connect_name_glob_is_refused(api: ProxyApi, echo: Upstream) -> None:
    """A 200,000-character glob would take seconds to compile at the first connection."""
    api.post("/proxies", data=body(name="p", upstream=echo.addr))
    error = rejected(
        api,
        "POST",
        "/proxies/p/toxics",
        body(type="latency", attributes={"connect_name": "*a" * 100_000}),
        400,
    )
    assert "connect_name must be at most 1024 characters" in error


def test_int64_extremes_do_not_break_a_live_connection(
    api: ProxyApi, echo: Upstream, sockets: Sockets
) -> None:
    """The largest values Go accepts: held or passed, never a crashed connection or server."""
    proxy = api.post("/proxies", data=body(name="p", upstream=echo.addr)).json()
    client = sockets.connect(local_addr(proxy))
    assert echo_roundtrip(client, b"warm") == b"warm"
    passing = {
        "bandwidth": {"rate": INT64_MAX},
        "limit_data": {"bytes": INT64_MAX},
        "slicer": {"average_size": INT64_MAX, "size_variation": 0, "delay": INT64_MAX},
    }
    for type_, attributes in passing.items():
        assert (
            api.post("/proxies/p/toxics", data=body(type=type_, attributes=attributes)).status
            == 200
        )
        assert echo_roundtrip(client, type_.encode()) == type_.encode()
        assert api.delete(f"/proxies/p/toxics/{type_}_downstream").status == 204
    holding = {
        "latency": {"latency": INT64_MAX, "jitter": INT64_MAX},
        "timeout": {"timeout": INT64_MAX},
        "reset_peer": {"timeout": INT64_MAX},
        "slow_close": {"delay": INT64_MAX},
    }
    for type_, attributes in holding.items():
        added = api.post(
            "/proxies/p/toxics", data=body(type=type_, stream="upstream", attributes=attributes)
        )
        assert added.status == 200, added.body
    client.sendall(b"held")
    assert is_open(client, wait=0.3)
    all_answer(api)
    assert api.post("/reset").status == 204  # removing timeout closes its connections
    fresh = sockets.connect(local_addr(proxy))
    assert echo_roundtrip(fresh, b"after") == b"after"
    reasons = [
        e.get("reason")
        for e in api.get("/events?since=0").json()["events"]
        if e["type"] == "connection_closed"
    ]
    assert "toxic_error" not in reasons, reasons
