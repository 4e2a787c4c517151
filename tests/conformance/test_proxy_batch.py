"""``POST /toxics/batch`` (extension ``batch``): several toxic changes on several proxies at once.

Black box, like the rest of the conformance suite: raw HTTP against the proxy process and real
sockets. All or nothing: an invalid operation changes nothing and the error names the
operation's index, the field and the value; a valid batch shows in the toxic lists, on live
connections and in the event feed as one step.
"""

from __future__ import annotations

from typing import Any

import pytest

from ._support import ProxyApi, echo_roundtrip, local_addr, read_until_closed, wired
from ._upstream import Sockets, Upstream


def _add(proxy: str, name: str, type_: str = "latency", **toxic: Any) -> dict[str, Any]:
    return {"op": "add", "proxy": proxy, "toxic": {"name": name, "type": type_, **toxic}}


def _remove(proxy: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"op": "remove", "proxy": proxy, "name": name, **extra}


def _state(api: ProxyApi) -> dict[str, list[dict[str, Any]]]:
    proxies = api.get("/proxies").json()
    return {name: proxy["toxics"] for name, proxy in proxies.items()}


def _events_after(api: ProxyApi, since: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = api.get(f"/events?since={since}").json()["events"]
    return events


def _cursor(api: ProxyApi) -> int:
    return int(api.get("/events?since=0").json()["next"])


@pytest.fixture
def two(api: ProxyApi, echo: Upstream) -> tuple[str, str]:
    api.create_proxy("p1", echo.addr)
    api.create_proxy("p2", echo.addr)
    api.add_toxic("p1", "latency", name="kept", attributes={"latency": 1})
    return "p1", "p2"


def test_batch_is_listed_as_an_extension(api: ProxyApi) -> None:
    assert "batch" in api.get("/extensions").json()["extensions"]


def test_batch_adds_and_removes_across_proxies(api: ProxyApi, two: tuple[str, str]) -> None:
    since = _cursor(api)
    resp = api.post(
        "/toxics/batch",
        {
            "operations": [
                _add("p1", "up", "timeout", stream="upstream", attributes={"timeout": 0}),
                _add("p2", "down", attributes={"latency": 5, "jitter": 1}),
                _remove("p1", "kept"),
                _remove("p2", "never-there", if_exists=True),
            ]
        },
    )
    assert resp.status == 200, resp.body
    assert resp.content_type.startswith("application/json")
    body = resp.json()
    assert [r["op"] for r in body["results"]] == ["add", "add", "remove", "remove"]
    assert body["results"][0]["toxic"] == {
        "attributes": {"timeout": 0},
        "name": "up",
        "type": "timeout",
        "stream": "upstream",
        "toxicity": 1,
    }
    assert body["results"][2]["removed"] is True
    assert body["results"][2]["toxic"]["name"] == "kept"
    assert body["results"][3] == {
        "op": "remove",
        "proxy": "p2",
        "name": "never-there",
        "removed": False,
        "toxic": None,
    }
    state = _state(api)
    assert [t["name"] for t in state["p1"]] == ["up"]
    assert [t["name"] for t in state["p2"]] == ["down"]
    assert state["p2"][0]["attributes"] == {"latency": 5, "jitter": 1}

    events = _events_after(api, since)
    (summary,) = [e for e in events if e["type"] == "toxics_batch"]
    assert summary["batch"] == body["batch"]
    assert summary["operations"] == [
        {"op": "add", "proxy": "p1", "toxic": "up"},
        {"op": "add", "proxy": "p2", "toxic": "down"},
        {"op": "remove", "proxy": "p1", "toxic": "kept"},
    ]
    changes = [e for e in events if e["type"] in ("toxic_added", "toxic_removed")]
    assert [(e["type"], e["proxy"], e["toxic"]["name"]) for e in changes] == [
        ("toxic_added", "p1", "up"),
        ("toxic_added", "p2", "down"),
        ("toxic_removed", "p1", "kept"),
    ]
    assert {e["batch"] for e in changes} == {body["batch"]}
    assert changes[0]["seq"] > summary["seq"]


@pytest.mark.parametrize(
    ("operations", "status", "message", "index", "field", "value"),
    [
        (
            [_add("p1", "a"), _add("nope", "b")],
            404,
            "operations[1].proxy: proxy not found (got 'nope')",
            1,
            "proxy",
            "nope",
        ),
        (
            [_add("p2", "a"), _add("p1", "kept")],
            409,
            "operations[1].toxic.name: toxic already exists (got 'kept')",
            1,
            "toxic.name",
            "kept",
        ),
        (
            [_add("p2", "twice"), _add("p2", "twice", "timeout")],
            409,
            "operations[1].toxic.name: toxic already exists (got 'twice')",
            1,
            "toxic.name",
            "twice",
        ),
        (
            [_add("p2", "a"), _add("p1", "b", attributes={"latency": -5})],
            400,
            "operations[1].toxic.attributes.latency: bad request body: invalid latency toxic: "
            "attribute latency (ms) must be >= 0, got -5 (got -5)",
            1,
            "toxic.attributes.latency",
            -5,
        ),
        (
            [_add("p2", "a", "sideways")],
            400,
            "operations[0].toxic.type: invalid toxic type (got 'sideways')",
            0,
            "toxic.type",
            "sideways",
        ),
        (
            [_add("p2", "a"), _add("p2", "b", stream="both")],
            400,
            "operations[1].toxic.stream: stream was invalid, can be either upstream or downstream"
            " (got 'both')",
            1,
            "toxic.stream",
            "both",
        ),
        (
            [_add("p2", "a", toxicity=2)],
            400,
            "operations[0].toxic.toxicity: bad request body: toxicity must be between 0 and 1, "
            "got 2 (got 2)",
            0,
            "toxic.toxicity",
            2,
        ),
        (
            [_remove("p1", "kept"), _remove("p1", "kept")],
            404,
            "operations[1].name: toxic not found (got 'kept')",
            1,
            "name",
            "kept",
        ),
        (
            [_add("p2", "a"), {"op": "update", "proxy": "p2"}],
            400,
            "operations[1].op: bad request body: op must be add or remove (got 'update')",
            1,
            "op",
            "update",
        ),
    ],
)
def test_an_invalid_operation_changes_nothing_and_is_named(
    api: ProxyApi,
    two: tuple[str, str],
    operations: list[dict[str, Any]],
    status: int,
    message: str,
    index: int,
    field: str,
    value: object,
) -> None:
    before = _state(api)
    since = _cursor(api)
    resp = api.post("/toxics/batch", {"operations": operations})
    assert resp.status == status, resp.body
    body = resp.json()
    assert body == {
        "error": message,
        "status": status,
        "operation": index,
        "field": field,
        "value": value,
    }
    assert resp.body.endswith(b"}\n")  # like every error of the API
    assert _state(api) == before
    assert not [e for e in _events_after(api, since) if "toxic" in e["type"]]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "operations: bad request body: a batch is an object, got array (got [])"),
        ({"operations": {}}, "operations: bad request body: operations must be an array (got {})"),
        ({"operations": [3]}, "operations[0]: bad request body: an operation is an object (got 3)"),
    ],
)
def test_a_malformed_batch_is_a_400(api: ProxyApi, body: object, message: str) -> None:
    resp = api.post("/toxics/batch", body)
    assert resp.status == 400
    assert resp.json()["error"] == message


def test_an_empty_batch_changes_nothing(api: ProxyApi, two: tuple[str, str]) -> None:
    before = _state(api)
    resp = api.post("/toxics/batch", {"operations": []})
    assert resp.status == 200
    assert resp.json() == {"batch": None, "results": []}
    assert _state(api) == before


def test_remove_then_add_the_same_name_replaces_the_toxic(
    api: ProxyApi, two: tuple[str, str]
) -> None:
    resp = api.post(
        "/toxics/batch",
        {"operations": [_remove("p1", "kept"), _add("p1", "kept", attributes={"latency": 9})]},
    )
    assert resp.status == 200, resp.body
    assert _state(api)["p1"][0]["attributes"] == {"latency": 9, "jitter": 0}


def test_batch_acts_on_live_connections(api: ProxyApi, echo: Upstream, sockets: Sockets) -> None:
    """Added toxics reach connections already open; removing a ``timeout`` toxic in a batch
    closes the connections it was on, as a single removal does."""
    proxy = api.create_proxy("live", echo.addr)
    client = sockets.connect(local_addr(proxy))
    assert echo_roundtrip(client, b"hello") == b"hello"
    resp = api.post(
        "/toxics/batch",
        {
            "operations": [
                _add("live", "up", "timeout", stream="upstream", attributes={"timeout": 0}),
                _add("live", "down", "timeout", stream="downstream", attributes={"timeout": 0}),
            ]
        },
    )
    assert resp.status == 200, resp.body
    (conn,) = api.get("/proxies/live/connections").json()
    assert conn["toxics"] == {"upstream": ["up"], "downstream": ["down"]}
    client.sendall(b"lost")
    resp = api.post(
        "/toxics/batch", {"operations": [_remove("live", "up"), _remove("live", "down")]}
    )
    assert resp.status == 200, resp.body
    data, how = read_until_closed(client, timeout=5)
    assert (data, how) == (b"", "eof")


def test_a_connection_opened_after_a_batch_has_all_of_it(
    api: ProxyApi, held: Upstream, sockets: Sockets
) -> None:
    proxy = api.create_proxy("fresh", held.addr)
    resp = api.post(
        "/toxics/batch",
        {
            "operations": [
                _add("fresh", "a", stream="upstream", attributes={"latency": 1}),
                _add("fresh", "b", stream="downstream", attributes={"latency": 1}),
            ]
        },
    )
    assert resp.status == 200
    client = sockets.connect(local_addr(proxy))
    server = held.accept()
    wired(client, server)
    (conn,) = api.get("/proxies/fresh/connections").json()
    assert conn["toxics"] == {"upstream": ["a"], "downstream": ["b"]}
