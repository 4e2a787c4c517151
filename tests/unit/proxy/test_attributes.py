"""Toxic attributes: registry, defaults, merge on update, Go-worded type errors, ranges."""

from __future__ import annotations

import pytest

from nats_fault_harness.toxics import (
    TOXICS,
    Bandwidth,
    InvalidAttribute,
    Latency,
    LimitData,
    Noop,
    ResetPeer,
    Slicer,
    SlowClose,
    Timeout,
)


def test_registry_has_every_toxiproxy_toxic_with_attribute_order() -> None:
    """Toxiproxy's toxics, plus the ``nats`` and ``reset_after`` extensions."""
    expected = {
        "noop": [],
        "latency": ["latency", "jitter"],
        "bandwidth": ["rate"],
        "slow_close": ["delay"],
        "timeout": ["timeout"],
        "reset_peer": ["timeout"],
        "slicer": ["average_size", "size_variation", "delay"],
        "limit_data": ["bytes"],
        "nats": [
            "verb",
            "subject",
            "action",
            "delay",
            "nth",
            "every",
            "first",
            "after",
            "probability",
            "reply",
            "header",
            "header_value",
            "min_bytes",
            "max_bytes",
        ],
        "reset_after": ["bytes"],
        "blackhole": ["buffer_bytes"],
    }
    assert set(TOXICS) == set(expected)
    for name, attrs in expected.items():
        cls = TOXICS[name]
        assert cls.type_name == name
        base = {"rate": 1, "average_size": 1, "action": "drop"}
        toxic = cls.from_attributes({k: v for k, v in base.items() if k in attrs})
        assert list(toxic.attributes()) == attrs


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        TOXICS["evil"] = Noop  # type: ignore[index]


def test_defaults_are_zero_and_unknown_keys_ignored() -> None:
    assert Latency.from_attributes(None) == Latency(0, 0)
    assert Latency.from_attributes({"latency": 5, "bogus": "x", "JITTER": 2}) == Latency(5, 2)
    assert Latency.from_attributes({"latency": None}) == Latency(0, 0)


def test_update_merges_over_the_base() -> None:
    base = Latency.from_attributes({"latency": 100, "jitter": 10})
    assert Latency.from_attributes({"latency": 1000}, base) == Latency(1000, 10)
    assert Latency.from_attributes({}, base) == base


@pytest.mark.parametrize(
    ("value", "described"),
    [
        ("100", "string"),
        (1.5, "number 1.5"),
        (True, "bool"),
        ([1], "array"),
        ({}, "object"),
        (2**63, f"number {2**63}"),
    ],
)
def test_type_errors_use_go_wording(value: object, described: str) -> None:
    with pytest.raises(InvalidAttribute) as caught:
        Latency.from_attributes({"latency": value})
    assert str(caught.value) == (
        f"json: cannot unmarshal {described} into Go struct field "
        "LatencyToxic.attributes.latency of type int64"
    )
    assert caught.value.where == "attributes.latency"


def test_attributes_must_be_an_object() -> None:
    with pytest.raises(InvalidAttribute, match="cannot unmarshal array into Go struct field"):
        Timeout.from_attributes([1, 2])


@pytest.mark.parametrize(
    ("cls", "attrs", "field"),
    [
        (Latency, {"latency": -1}, "latency"),
        (Latency, {"jitter": -1}, "jitter"),
        (Bandwidth, {"rate": 0}, "rate"),
        (Bandwidth, {"rate": -10}, "rate"),
        (SlowClose, {"delay": -1}, "delay"),
        (Timeout, {"timeout": -1}, "timeout"),
        (ResetPeer, {"timeout": -1}, "timeout"),
        (Slicer, {"average_size": 0}, "average_size"),
        (Slicer, {"average_size": 4, "size_variation": -1}, "size_variation"),
        (Slicer, {"average_size": 4, "size_variation": 5}, "size_variation"),
        (Slicer, {"average_size": 4, "delay": -1}, "delay"),
        (LimitData, {"bytes": -1}, "bytes"),
    ],
)
def test_values_toxiproxy_mishandles_are_refused(
    cls: type[Latency], attrs: dict[str, int], field: str
) -> None:
    with pytest.raises(InvalidAttribute) as caught:
        cls.from_attributes(attrs)
    assert caught.value.where == f"attributes.{field}"
    assert field in str(caught.value)
    assert str(attrs[field]) in str(caught.value)


def test_boundary_values_are_accepted() -> None:
    assert Bandwidth.from_attributes({"rate": 1}).rate == 1
    assert Slicer.from_attributes({"average_size": 3, "size_variation": 3}).size_variation == 3
    assert LimitData.from_attributes({"bytes": 0}).bytes == 0
    assert Timeout.from_attributes({"timeout": 0}).timeout == 0
