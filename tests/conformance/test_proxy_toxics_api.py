"""Toxic objects over HTTP: add, list, get, update, remove (contract §1.2-1.3; checklist §3 items
14-17, 19), PATCH vs POST equivalence, and our deliberate validation 400s (bandwidth rate <= 0,
slicer average_size <= 0, negative durations, toxicity outside [0, 1])."""

from __future__ import annotations

from typing import Any

import pytest

from ._support import ProxyApi, json_keys
from ._upstream import Upstream

ALL_TYPES: dict[str, dict[str, int]] = {
    "latency": {"latency": 0, "jitter": 0},
    "bandwidth": {"rate": 0},
    "slow_close": {"delay": 0},
    "timeout": {"timeout": 0},
    "reset_peer": {"timeout": 0},
    "slicer": {"average_size": 0, "size_variation": 0, "delay": 0},
    "limit_data": {"bytes": 0},
    "noop": {},
}

VALID_ATTRIBUTES: dict[str, dict[str, int]] = {
    "latency": {"latency": 123, "jitter": 7},
    "bandwidth": {"rate": 42},
    "slow_close": {"delay": 250},
    "timeout": {"timeout": 1000},
    "reset_peer": {"timeout": 15},
    "slicer": {"average_size": 64, "size_variation": 16, "delay": 20},
    "limit_data": {"bytes": 4096},
    "noop": {},
}


@pytest.fixture
def proxy(api: ProxyApi, echo: Upstream) -> str:
    api.create_proxy("p", echo.addr)
    return "p"


def test_add_toxic_shape_and_status(api: ProxyApi, proxy: str) -> None:
    """Item 14 / §1.2: 200 (not 201), keys in Go order, toxicity 1 by default, stored in proxy."""
    resp = api.post(
        f"/proxies/{proxy}/toxics",
        {
            "name": "slow",
            "type": "latency",
            "stream": "upstream",
            "attributes": {"latency": 100, "jitter": 10},
        },
    )
    assert resp.status == 200, resp.body
    toxic = resp.json()
    assert json_keys(toxic) == ["attributes", "name", "type", "stream", "toxicity"]
    assert toxic == {
        "attributes": {"latency": 100, "jitter": 10},
        "name": "slow",
        "type": "latency",
        "stream": "upstream",
        "toxicity": 1,
    }
    assert api.get(f"/proxies/{proxy}/toxics/slow").json() == toxic
    assert api.proxy(proxy)["toxics"] == [toxic]


@pytest.mark.parametrize(("type_", "defaults"), sorted(ALL_TYPES.items()))
def test_every_type_is_accepted_with_zero_value_defaults(
    api: ProxyApi, proxy: str, type_: str, defaults: dict[str, int]
) -> None:
    """§1.2 attribute table: every type is creatable; omitted attributes echo as zero values.

    Types whose zero value we reject (bandwidth rate, slicer average_size) get the minimum valid
    value for that one attribute and zeros for the rest.
    """
    attributes: dict[str, int] = {}
    if type_ == "bandwidth":
        attributes = {"rate": 1}
    if type_ == "slicer":
        attributes = {"average_size": 1}
    toxic = api.add_toxic(proxy, type_, attributes=attributes)
    assert toxic["type"] == type_
    assert toxic["name"] == f"{type_}_downstream"
    assert toxic["attributes"] == {**defaults, **attributes}


@pytest.mark.parametrize(("type_", "attributes"), sorted(VALID_ATTRIBUTES.items()))
def test_attributes_round_trip(
    api: ProxyApi, proxy: str, type_: str, attributes: dict[str, int]
) -> None:
    """§1.2: attributes are echoed on create and on GET with their exact integer values."""
    toxic = api.add_toxic(proxy, type_, stream="upstream", attributes=attributes)
    assert toxic["attributes"] == attributes
    assert api.get(f"/proxies/{proxy}/toxics/{toxic['name']}").json()["attributes"] == attributes


def test_names_unique_across_streams_and_default_names(api: ProxyApi, proxy: str) -> None:
    """Item 14: two differently named latency toxics coexist; a same name in the other stream →
    409 ``toxic already exists``; default names ``latency_upstream``/``latency_downstream``."""
    api.add_toxic(proxy, "latency", name="a", stream="downstream")
    api.add_toxic(proxy, "latency", name="b", stream="downstream")
    clash = api.post(
        f"/proxies/{proxy}/toxics", {"name": "a", "type": "latency", "stream": "upstream"}
    )
    assert clash.status == 409
    assert clash.json() == {"error": "toxic already exists", "status": 409}
    assert api.add_toxic(proxy, "latency", stream="upstream")["name"] == "latency_upstream"
    assert api.add_toxic(proxy, "latency")["name"] == "latency_downstream"
    assert {t["name"] for t in api.toxics(proxy)} == {
        "a",
        "b",
        "latency_upstream",
        "latency_downstream",
    }


def test_toxicity_round_trips(api: ProxyApi, proxy: str) -> None:
    """Item 15: toxicity 0.2 is stored and echoed."""
    toxic = api.add_toxic(proxy, "latency", toxicity=0.2)
    assert toxic["toxicity"] == pytest.approx(0.2, abs=1e-6)
    assert api.toxics(proxy)[0]["toxicity"] == pytest.approx(0.2, abs=1e-6)


def test_noop_with_empty_stream_defaults(api: ProxyApi, proxy: str) -> None:
    """Item 15: ``noop`` with ``stream: ""`` → downstream, toxicity 1, name ``noop_downstream``."""
    toxic = api.add_toxic(proxy, "noop", stream="")
    assert toxic == {
        "attributes": {},
        "name": "noop_downstream",
        "type": "noop",
        "stream": "downstream",
        "toxicity": 1,
    }


def test_stream_is_case_insensitive_but_echoed_as_sent(api: ProxyApi, proxy: str) -> None:
    """§1.3: stream parsing ignores case; stored stream and default name keep the spelling."""
    toxic = api.add_toxic(proxy, "latency", stream="UpStream")
    assert toxic["stream"] == "UpStream"
    assert toxic["name"] == "latency_UpStream"


def test_list_order_upstream_first_then_insertion(api: ProxyApi, proxy: str) -> None:
    """§1.3: all upstream toxics in insertion order, then all downstream ones."""
    for name, stream in (
        ("d1", "downstream"),
        ("u1", "upstream"),
        ("d2", "downstream"),
        ("u2", "upstream"),
    ):
        api.add_toxic(proxy, "noop", name=name, stream=stream)
    assert [t["name"] for t in api.toxics(proxy)] == ["u1", "u2", "d1", "d2"]
    assert [t["name"] for t in api.proxy(proxy)["toxics"]] == ["u1", "u2", "d1", "d2"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (
            {"type": "latency", "stream": "walrustream"},
            400,
            "stream was invalid, can be either upstream or downstream",
        ),
        ({"type": "walrus"}, 400, "invalid toxic type"),
        ({"stream": "upstream"}, 400, "invalid toxic type"),
        # order of checks: stream before type, type before duplicate, duplicate before attributes
        (
            {"type": "walrus", "stream": "walrustream"},
            400,
            "stream was invalid, can be either upstream or downstream",
        ),
        ({"name": "taken", "type": "walrus"}, 400, "invalid toxic type"),
        (
            {"name": "taken", "type": "latency", "attributes": {"latency": "x"}},
            409,
            "toxic already exists",
        ),
    ],
)
def test_add_toxic_errors_and_check_order(
    api: ProxyApi, proxy: str, body: dict[str, Any], status: int, message: str
) -> None:
    """Item 19 and §1.3 check order: body → stream → default name → type → duplicate → attrs."""
    api.add_toxic(proxy, "noop", name="taken")
    resp = api.post(f"/proxies/{proxy}/toxics", body)
    assert resp.status == status, resp.body
    assert resp.json() == {"error": message, "status": status}
    assert [t["name"] for t in api.toxics(proxy)] == ["taken"]


@pytest.mark.parametrize(
    "payload",
    [
        b"{",
        b'{"type": "latency", "attributes": {"latency": "100"}}',
        b'{"type": "latency", "attributes": {"latency": 100.5}}',
        b'{"type": "latency", "toxicity": "1"}',
    ],
)
def test_add_toxic_undecodable_body_is_400(api: ProxyApi, proxy: str, payload: bytes) -> None:
    """§1.1: wrong JSON types (string or fraction into an int attribute) → 400 bad request body."""
    resp = api.post(
        f"/proxies/{proxy}/toxics", data=payload, headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400, resp.body
    assert resp.error().startswith("bad request body"), resp.body
    assert api.toxics(proxy) == []


def test_toxic_endpoints_on_missing_proxy_or_toxic(api: ProxyApi, proxy: str) -> None:
    """§1.3: 404 ``proxy not found`` vs ``toxic not found``; the toxic lookup comes before the
    update body is parsed."""
    for method in ("GET", "POST"):
        resp = api.request(
            method, "/proxies/nope/toxics", *([{"type": "noop"}] if method == "POST" else [])
        )
        assert (resp.status, resp.error()) == (404, "proxy not found")
    for method in ("GET", "DELETE"):
        resp = api.request(method, f"/proxies/{proxy}/toxics/nope")
        assert resp.json() == {"error": "toxic not found", "status": 404}
    for method in ("POST", "PATCH"):
        resp = api.request(method, f"/proxies/{proxy}/toxics/nope", data=b"{not json")
        assert resp.json() == {"error": "toxic not found", "status": 404}
        resp = api.request(method, "/proxies/nope/toxics/nope", {"toxicity": 1})
        assert resp.json() == {"error": "proxy not found", "status": 404}


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_update_merges_attributes_and_keeps_toxicity(
    api: ProxyApi, proxy: str, method: str
) -> None:
    """Item 16: attributes merge (jitter kept), toxicity changes, omitted toxicity is kept;
    name/type/stream in the body are ignored."""
    api.add_toxic(proxy, "latency", name="lat", attributes={"latency": 100, "jitter": 10})
    resp = api.request(
        method, f"/proxies/{proxy}/toxics/lat", {"attributes": {"latency": 200}, "toxicity": 0.5}
    )
    assert resp.status == 200, resp.body
    assert resp.json() == {
        "attributes": {"latency": 200, "jitter": 10},
        "name": "lat",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 0.5,
    }
    resp = api.request(
        method,
        f"/proxies/{proxy}/toxics/lat",
        {"attributes": {"jitter": 3}, "name": "x", "type": "bandwidth", "stream": "upstream"},
    )
    assert resp.status == 200, resp.body
    assert resp.json() == {
        "attributes": {"latency": 200, "jitter": 3},
        "name": "lat",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 0.5,
    }
    assert api.get(f"/proxies/{proxy}/toxics/lat").json() == resp.json()


def test_update_bad_body_is_400(api: ProxyApi, proxy: str) -> None:
    api.add_toxic(proxy, "latency", name="lat", attributes={"latency": 1})
    resp = api.patch(f"/proxies/{proxy}/toxics/lat", data=b"{")
    assert resp.status == 400
    assert resp.error().startswith("bad request body")


def test_patch_and_post_toxic_updates_are_equivalent(api: ProxyApi, proxy: str) -> None:
    """Both verbs give the same status and body for the same update sequence."""
    for name in ("via_post", "via_patch"):
        api.add_toxic(
            proxy,
            "slicer",
            name=name,
            attributes={"average_size": 10, "size_variation": 2, "delay": 5},
        )
    for body in (
        {"attributes": {"delay": 7}},
        {"toxicity": 0.25},
        {},
        {"attributes": {"average_size": 20, "size_variation": 4}, "toxicity": 1},
    ):
        a = api.post(f"/proxies/{proxy}/toxics/via_post", body)
        b = api.patch(f"/proxies/{proxy}/toxics/via_patch", body)
        assert a.status == b.status == 200, (a.body, b.body)
        got_a, got_b = a.json(), b.json()
        assert (got_a.pop("name"), got_b.pop("name")) == ("via_post", "via_patch")
        assert got_a == got_b


def test_remove_toxic(api: ProxyApi, proxy: str) -> None:
    """Item 17: delete → 204 empty body, gone from both lists; second delete → 404."""
    api.add_toxic(proxy, "latency", name="a")
    api.add_toxic(proxy, "latency", name="b", stream="upstream")
    resp = api.delete(f"/proxies/{proxy}/toxics/a")
    assert (resp.status, resp.body) == (204, b"")
    assert [t["name"] for t in api.toxics(proxy)] == ["b"]
    assert [t["name"] for t in api.proxy(proxy)["toxics"]] == ["b"]
    assert api.delete(f"/proxies/{proxy}/toxics/a").status == 404


# ---------------------------------------------------------------- our validation 400s

INVALID = [
    ("bandwidth", {"rate": 0}, "rate"),
    ("bandwidth", {"rate": -1}, "rate"),
    ("slicer", {"average_size": 0}, "average_size"),
    ("slicer", {"average_size": -5}, "average_size"),
    ("latency", {"latency": -1}, "latency"),
    ("latency", {"latency": 10, "jitter": -1}, "jitter"),
    ("slow_close", {"delay": -1}, "delay"),
    ("timeout", {"timeout": -1}, "timeout"),
    ("reset_peer", {"timeout": -1}, "timeout"),
    ("slicer", {"average_size": 10, "delay": -1}, "delay"),
]


@pytest.mark.parametrize(("type_", "attributes", "field"), INVALID)
def test_invalid_attributes_rejected_on_add(
    api: ProxyApi, proxy: str, type_: str, attributes: dict[str, int], field: str
) -> None:
    """Deviation (§2.10: Go hangs or panics on these): 400 naming the attribute, nothing added."""
    resp = api.post(f"/proxies/{proxy}/toxics", {"type": type_, "attributes": attributes})
    assert resp.status == 400, resp.body
    assert resp.json()["status"] == 400
    assert field in resp.error(), resp.body
    assert api.toxics(proxy) == []


@pytest.mark.parametrize(("type_", "attributes", "field"), INVALID)
def test_invalid_attributes_rejected_on_update(
    api: ProxyApi, proxy: str, type_: str, attributes: dict[str, int], field: str
) -> None:
    """The same validation applies to updates; the stored toxic is left unchanged."""
    valid = {**VALID_ATTRIBUTES[type_]}
    toxic = api.add_toxic(proxy, type_, name="t", attributes=valid)
    resp = api.patch(f"/proxies/{proxy}/toxics/t", {"attributes": attributes})
    assert resp.status == 400, resp.body
    assert field in resp.error(), resp.body
    assert api.get(f"/proxies/{proxy}/toxics/t").json() == toxic


@pytest.mark.parametrize("toxicity", [-0.1, 1.5, -1, 2])
def test_toxicity_outside_unit_interval_rejected(
    api: ProxyApi, proxy: str, toxicity: float
) -> None:
    """Deviation: toxicity outside [0, 1] → 400 mentioning toxicity (add and update)."""
    resp = api.post(f"/proxies/{proxy}/toxics", {"type": "latency", "toxicity": toxicity})
    assert resp.status == 400, resp.body
    assert "toxicity" in resp.error()
    toxic = api.add_toxic(proxy, "latency", name="t", toxicity=0.5)
    resp = api.patch(f"/proxies/{proxy}/toxics/t", {"toxicity": toxicity})
    assert resp.status == 400, resp.body
    assert "toxicity" in resp.error()
    assert api.get(f"/proxies/{proxy}/toxics/t").json() == toxic


@pytest.mark.parametrize("toxicity", [0, 1, 0.0, 1.0])
def test_toxicity_bounds_are_valid(api: ProxyApi, proxy: str, toxicity: float) -> None:
    assert api.add_toxic(proxy, "latency", toxicity=toxicity)["toxicity"] == toxicity
