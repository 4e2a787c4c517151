"""Server-wide HTTP behaviour of the Toxiproxy 2.12 API (contract §1.1, checklist §3 items 1-3, 18).

Covers routing (404/405, no trailing-slash redirect), headers (request id, content types),
the browser block, the error body format, ``/version`` bytes and keep-alive.

Not implemented by us and therefore not ported: Prometheus ``/metrics`` (checklist item 34; we
only assert the endpoint is absent, i.e. 404 like a Toxiproxy started without metrics flags) and
the ``toxiproxy-cli`` end-to-end script (item 35).
"""

from __future__ import annotations

import http.client
import json
import re

import pytest

from ._support import ProxyApi
from ._upstream import Upstream


def test_version_has_request_id_header(api: ProxyApi) -> None:
    """Item 1: matched routes carry ``X-Toxiproxy-Request-Id``."""
    resp = api.get("/version")
    assert resp.status == 200
    assert resp.headers.get("x-toxiproxy-request-id", "").strip(), resp.headers


@pytest.mark.parametrize("path", ["/version", "/proxies"])
def test_browser_user_agent_is_forbidden(api: ProxyApi, path: str) -> None:
    """Item 2: ``User-Agent: Mozilla/...`` gets 403 ``User agent not allowed``."""
    ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    resp = api.get(path, headers={"User-Agent": ua})
    assert resp.status == 403, resp.body
    assert b"User agent not allowed" in resp.body


@pytest.mark.parametrize("ua", ["Wget/2.1", "toxiproxy-cli", "python-requests/2.34.2", "node"])
def test_non_browser_user_agents_are_allowed(api: ProxyApi, ua: str) -> None:
    """Item 2: other user agents (including the ones real clients send) are served."""
    resp = api.get("/version", headers={"User-Agent": ua})
    assert resp.status == 200, resp.body


def test_empty_server_lists_no_proxies(api: ProxyApi) -> None:
    """Item 3: ``GET /proxies`` on an empty server is an empty JSON object (not a list)."""
    resp = api.get("/proxies")
    assert resp.status == 200
    assert resp.content_type.startswith("application/json")
    assert resp.json() == {}


def test_version_body_bytes(api: ProxyApi) -> None:
    """Item 18 / §1.3: ``{"version": "<v>"}`` + newline, ``application/json;charset=utf-8``."""
    resp = api.get("/version")
    assert resp.status == 200
    assert re.fullmatch(rb'\{"version": "[^"\n]+"\}\n', resp.body), resp.body
    assert resp.content_type.replace(" ", "").lower() == "application/json;charset=utf-8"
    assert json.loads(resp.body)["version"]


def test_success_bodies_are_compact_json_without_newline(api: ProxyApi, echo: Upstream) -> None:
    """§1.1: success responses are ``application/json`` and have no trailing newline."""
    created = api.post(
        "/proxies", {"name": "shape", "upstream": echo.addr, "listen": "127.0.0.1:0"}
    )
    assert created.status == 201
    for resp in (
        created,
        api.get("/proxies"),
        api.get("/proxies/shape"),
        api.get("/proxies/shape/toxics"),
    ):
        assert resp.content_type.startswith("application/json"), resp.headers
        assert not resp.body.endswith(b"\n"), resp.body
        json.loads(resp.body)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/proxies/nope"),
        ("DELETE", "/proxies/nope"),
        ("GET", "/proxies/nope/toxics"),
        ("GET", "/proxies/nope/toxics/t"),
    ],
)
def test_error_body_shape_and_content_type(api: ProxyApi, method: str, path: str) -> None:
    """§1.1 error format: JSON ``{"error", "status"}`` written by Go ``http.Error``.

    So the body ends in a newline, ``status`` equals the HTTP status, and the content type is
    ``text/plain; charset=utf-8`` with ``X-Content-Type-Options: nosniff``.
    """
    resp = api.request(method, path)
    assert resp.status == 404
    assert resp.body.endswith(b"\n"), resp.body
    body = resp.json()
    assert set(body) == {"error", "status"}, body
    assert body == {"error": "proxy not found", "status": 404}
    assert resp.content_type.replace(" ", "").lower() == "text/plain;charset=utf-8"
    assert resp.headers.get("x-content-type-options") == "nosniff"


def test_error_status_field_matches_http_status_for_400_and_409(
    api: ProxyApi, echo: Upstream
) -> None:
    """The Go client reports the body's ``status`` field; it must equal the HTTP status."""
    bad = api.post("/proxies", {"upstream": echo.addr})
    assert (bad.status, bad.json()["status"]) == (400, 400)
    api.create_proxy("dup", echo.addr)
    dup = api.post("/proxies", {"name": "dup", "upstream": echo.addr})
    assert (dup.status, dup.json()["status"]) == (409, 409)


@pytest.mark.parametrize("path", ["/nope", "/proxies/", "/proxies/a/b/c/d", "/metrics"])
def test_unknown_path_is_mux_404(api: ProxyApi, path: str) -> None:
    """§1.1: unknown paths (incl. trailing slash, and ``/metrics`` without metrics flags) → 404
    ``404 page not found`` text/plain."""
    resp = api.get(path)
    assert resp.status == 404
    assert resp.body == b"404 page not found\n"
    assert resp.content_type.startswith("text/plain")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/proxies"),
        ("DELETE", "/version"),
        ("GET", "/reset"),
        ("GET", "/populate"),
        ("PUT", "/proxies/x/toxics/y"),
    ],
)
def test_known_path_wrong_method_is_405(api: ProxyApi, method: str, path: str) -> None:
    """§1.1: a known path with a method it does not route → 405 with an empty body."""
    resp = api.request(method, path)
    assert resp.status == 405, (resp.status, resp.body)
    assert resp.body == b""


@pytest.mark.parametrize(
    ("payload", "prefix"),
    [
        (b"{", "bad request body"),
        (b"[]", "bad request body"),
        (b'{"name": 5, "upstream": "x:1"}', "bad request body"),
        (b"", "bad request body"),
    ],
)
def test_undecodable_create_body_is_400(api: ProxyApi, payload: bytes, prefix: str) -> None:
    """§1.1: bodies that do not decode into the struct → 400 ``bad request body...``."""
    resp = api.post("/proxies", data=payload, headers={"Content-Type": "application/json"})
    assert resp.status == 400, resp.body
    assert resp.error().startswith(prefix), resp.body
    assert api.get("/proxies").json() == {}


def test_unknown_request_fields_are_ignored(api: ProxyApi, echo: Upstream) -> None:
    """§1.1: no ``DisallowUnknownFields``; clients send ``toxics``, ``Logger``... on create."""
    resp = api.post(
        "/proxies",
        {
            "name": "extra",
            "upstream": echo.addr,
            "listen": "127.0.0.1:0",
            "enabled": True,
            "toxics": None,
            "Logger": {},
            "whatever": [1, 2],
        },
    )
    assert resp.status == 201, resp.body
    assert resp.json()["name"] == "extra"


def test_reset_ignores_its_body(api: ProxyApi) -> None:
    """§1.3: ``POST /reset`` ignores the body and answers 204 with an empty body."""
    resp = api.post("/reset", data=b"not json at all")
    assert (resp.status, resp.body) == (204, b"")


def test_keep_alive_serves_several_requests_on_one_connection(api: ProxyApi) -> None:
    """§1.1: HTTP/1.1 keep-alive works (clients reuse connections)."""
    conn = http.client.HTTPConnection(api.host, api.port, timeout=5)
    try:
        for _ in range(3):
            conn.request("GET", "/version")
            resp = conn.getresponse()
            assert resp.status == 200
            resp.read()
        conn.request("GET", "/proxies")
        resp = conn.getresponse()
        assert resp.status == 200
        assert json.loads(resp.read()) == {}
    finally:
        conn.close()
