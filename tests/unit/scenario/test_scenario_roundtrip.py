"""Property: any valid Scenario dumps to YAML that loads back equal (replay files rely on it)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nats_fault_harness.scenario import CHECKERS, Scenario, dump_scenario, parse_scenario
from nats_fault_harness.scenario._base import MAX_SECONDS, MIN_RATE

floats = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
moments = st.floats(min_value=0, max_value=MAX_SECONDS)
seconds = st.floats(min_value=1e-3, max_value=MAX_SECONDS)
rates = st.floats(min_value=MIN_RATE, max_value=1e6)
json_scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | floats | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
tokens = st.text("abcxyz_-0123456789", min_size=1, max_size=6)
subjects = st.lists(tokens, min_size=1, max_size=3).map(".".join)


@st.composite
def triggers(draw: st.DrawFn, instant: bool) -> dict[str, Any]:
    for_s = None if instant else draw(st.none() | seconds)
    if draw(st.booleans()):
        return {"at_s": draw(moments), "for_s": for_s}
    after = draw(st.sampled_from(["publish", "batch_flush", "reconnect", "request"]))
    return {"after": after, "nth": draw(st.integers(1, 1000)), "for_s": for_s}


@st.composite
def faults(draw: st.DrawFn, kind: str, size: int) -> dict[str, Any]:
    link = ["link"] + [f"{'member' if kind == 'pool' else 'node'}:{i}" for i in range(size)]
    choices = ["latency", "bandwidth", "frames", "reset", "kill", "restart"]
    choices += {"pool": ["break_members"], "cluster": ["partition"]}.get(kind, [])
    fault = draw(st.sampled_from(choices))
    step: dict[str, Any] = {"fault": fault}
    if fault in ("latency", "bandwidth", "frames", "reset"):
        step["target"] = draw(st.sampled_from(link if kind != "server" else ["link"]))
    if fault == "latency":
        step |= {"ms": draw(st.integers(0, 10**6)), "jitter": draw(st.integers(0, 100))}
    elif fault == "bandwidth":
        step["kb_per_s"] = draw(st.integers(1, 10**6))
    elif fault == "frames":
        step |= {"verb": draw(st.sampled_from(["PUB", "MSG", "PONG", "*"]))}
        step |= {"subject": draw(subjects), "nth": draw(st.none() | st.integers(1, 50))}
        step["probability"] = draw(st.none() | st.floats(0, 1))
    elif fault == "break_members":
        step["members"] = draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=size))
        step["how"] = draw(st.sampled_from(["down", "blackhole", "drop", "reset"]))
    elif fault == "partition":
        a, b = draw(st.permutations(range(size)))[:2]
        step |= {"a": a, "b": b, "one_way": draw(st.booleans())}
    elif fault in ("kill", "restart") and kind == "cluster":
        step["target"] = f"node:{draw(st.integers(0, size - 1))}"
    instant = fault in ("reset", "restart") or step.get("how") == "reset"
    step["trigger"] = draw(triggers(instant))
    return step


# every checker, with parameters where it requires some
checkers = st.sampled_from([c for c in CHECKERS if c != "exceptions"]).map(
    lambda c: {"name": c}
) | st.just({"name": "exceptions", "params": {"f": "request", "expected_types": ["E"]}})


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    kind = draw(st.sampled_from(["server", "pool", "cluster"]))
    size = {"server": 1, "pool": draw(st.integers(1, 4)), "cluster": draw(st.integers(2, 4))}
    n = size[kind]
    data = {
        "name": draw(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,20}\Z")),
        "description": draw(st.text(max_size=40)),
        "claims": draw(
            st.lists(st.from_regex(r"\A[a-z0-9][a-z0-9.-]{0,10}\Z"), min_size=1, max_size=5)
        ),
        "topology": {"kind": kind, "size": n, "jetstream": draw(st.booleans())},
        "service": draw(st.dictionaries(st.text(max_size=10), json_values, max_size=4)),
        "workload": {
            "publishes": {
                "count": draw(st.integers(0, 10**6)),
                "rate_per_s": draw(st.none() | rates),
                "subjects": draw(st.lists(subjects, min_size=1, max_size=3)),
                "batched": draw(st.booleans()),
            },
            "requests": {"count": draw(st.integers(0, 100)), "timeout_s": draw(seconds)},
            "messages": {
                "valid": draw(st.integers(0, 100)),
                "invalid": draw(st.integers(0, 100)),
                "incoming": draw(st.booleans()),
            },
        },
        "faults": draw(st.lists(faults(kind, n), max_size=4)),
        "checkers": draw(st.lists(checkers, min_size=1, max_size=5)),
        "timeout_s": draw(seconds),
        "markers": draw(st.lists(st.from_regex(r"\A[a-z_][a-z0-9_]{0,8}\Z"), max_size=2)),
        "seed": draw(st.none() | st.integers(0, 2**32)),
        "expect": {"start": draw(st.sampled_from(["ok", "fail"]))},
    }
    data["faults"] = [f for f in data["faults"] if _can_fire(f["trigger"], data)]
    return Scenario.model_validate(data)


def _can_fire(trigger: dict[str, Any], data: dict[str, Any]) -> bool:
    """The model rejects a step known never to fire (tested in test_scenario_errors)."""
    w = data["workload"]
    counts = {"publish": w["publishes"]["count"], "request": w["requests"]["count"]}
    if "after" in trigger:
        return trigger["nth"] <= counts.get(trigger["after"], trigger["nth"])
    idle = not (sum(counts.values()) or w["messages"]["valid"] or w["messages"]["invalid"])
    at_s = trigger.get("at_s", 0.0)
    return at_s < data["timeout_s"] and not (idle and at_s > 0)


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_dump_then_load_gives_an_equal_scenario(scenario: Scenario) -> None:
    assert parse_scenario(dump_scenario(scenario)) == scenario
