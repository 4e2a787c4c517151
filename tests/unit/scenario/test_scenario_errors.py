"""Every class of bad file fails with one ScenarioError naming path, line, field, expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from nats_fault_harness.scenario import ScenarioError, load_claims, load_scenario, parse_claims

INVALID = Path(__file__).parents[3] / "fixtures" / "scenarios-invalid"
CLAIMS = Path(__file__).parent / "samples" / "claims.yaml"
HEAD = "name: x\nclaims: [batch.no-loss]\ncheckers: [{name: accounting}]\n"  # 3 lines
KINDS = (
    "'latency', 'bandwidth', 'blackhole', 'drop', 'reset', 'down', 'slow_close', "
    "'limit_data', 'frames', 'break_members', 'break_by_name', 'kill', 'stop', 'pause', "
    "'lame_duck', 'restart', 'partition', 'isolate'"
)
JS_CLUSTER = (
    "topology:\n  kind: cluster\n  size: 3\n  jetstream: true\n"
    "  streams: [{name: ORDERS, subjects: [orders.>], replicas: 3}]\n"
)  # 5 lines


def _error(path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value


@pytest.mark.parametrize(
    ("name", "line", "field", "problem"),
    [
        ("negative-latency", 14, "faults[1].ms", "expected a non-negative integer, got -5"),
        (
            "unknown-key",
            8,
            "faults[0].jiter",
            "unknown key 'jiter'; allowed: trigger, fault, target, ms, jitter, stream, "
            "connect_name",
        ),
        ("unknown-fault", 6, "faults[0].fault", f"expected one of {KINDS}, got 'explode'"),
        ("duplicate-key", 7, "", "duplicate key 'size' (first defined on line 6)"),
        (
            "both-triggers",
            7,
            "faults[0].trigger",
            "either at_s (timed) or after (event), not both",
        ),
        (
            "syntax-error",
            4,
            "",
            "invalid YAML: while parsing a flow sequence expected ',' or ']', but got ':' "
            "(the construct started on line 3)",
        ),
        (
            "python-tag",
            2,
            "",
            "invalid YAML: could not determine a constructor for the tag "
            "'tag:yaml.org,2002:python/object/apply:os.system'",
        ),
        (
            "member-out-of-range",
            10,
            "faults[0].members[1]",
            "member 3 is not in the topology: a pool of size 3 has 0..2",
        ),
    ],
)
def test_invalid_fixture(name: str, line: int, field: str, problem: str) -> None:
    path = INVALID / f"{name}.yaml"
    err = _error(path)
    where = f"{path}:{line}: {field}: " if field else f"{path}:{line}: "
    assert str(err) == where + problem
    assert (err.path, err.line, err.field) == (str(path), line, field)
    assert len(err.issues) == 1


def test_every_invalid_fixture_is_covered() -> None:
    # A new fixture without an expected message would silently go untested.
    names = {p.stem for p in INVALID.glob("*.yaml")}
    assert names == {
        "negative-latency",
        "unknown-key",
        "unknown-fault",
        "duplicate-key",
        "both-triggers",
        "syntax-error",
        "python-tag",
        "member-out-of-range",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "",
            "{p}:1: empty file; expected a mapping with keys name, description, claims, "
            "topology, service, workload, faults, checkers, expect, instances, timeout_s, "
            "markers, seed",
        ),
        ("- a\n- b\n", "{p}:1: expected a mapping at the top level, got a list"),
        (
            HEAD + "faults:\n  - fault: kill\n    trigger: {at_s: 1, for_s: 0}\n",
            "{p}:6: faults[0].trigger.for_s: expected a positive number, got 0",
        ),
        (
            HEAD + "faults:\n  - fault: kill\n    trigger: {after: publish, nth: 0}\n",
            "{p}:6: faults[0].trigger.nth: expected an integer >= 1, got 0",
        ),
        (
            HEAD + "faults:\n  - fault: reset\n    trigger:\n      after: reconnect\n"
            "      for_s: 2\n",
            "{p}:8: faults[0].trigger.for_s: an instant fault takes no for_s, got 2.0",
        ),
        (
            HEAD + "faults:\n  - fault: latency\n    jitter: 1\n",
            "{p}:5: faults[0].ms: required field is missing",
        ),
        (HEAD + "faults:\n  - ms: 1\n", "{p}:5: faults[0].fault: required field is missing"),
        (
            HEAD + "bogus: 1\n",
            "{p}:4: bogus: unknown key 'bogus'; allowed: name, description, claims, "
            "topology, service, workload, faults, checkers, expect, instances, timeout_s, "
            "markers, seed",
        ),
        (
            HEAD + "topology: {kind: server, size: 2}\n",
            "{p}:4: topology.size: a single server has size 1, got 2",
        ),
        (
            HEAD + "faults: [{fault: partition, a: 0, b: 1}]\n",
            "{p}:4: faults[0].fault: partition needs a cluster topology, got server",
        ),
        (
            HEAD + "topology: {kind: cluster, size: 3}\nfaults: [{fault: partition, a: 1, b: 1}]\n",
            "{p}:5: faults[0]: a and b must differ, both are 1",
        ),
        (
            HEAD + "faults: [{fault: kill, target: leader:ORDERS}]\n",
            "{p}:4: faults[0].target: leader:ORDERS needs a cluster topology with "
            "jetstream: true, got server without jetstream",
        ),
        (
            HEAD + "topology: {kind: cluster, size: 3}\n"
            "faults: [{fault: isolate, target: leader:ORDERS}]\n",
            "{p}:5: faults[0].target: leader:ORDERS needs a cluster topology with "
            "jetstream: true, got cluster without jetstream",
        ),
        (
            HEAD + JS_CLUSTER + "faults:\n  - fault: kill\n    target: leader:ORDRES\n",
            "{p}:11: faults[0].target: leader:ORDRES: no stream ORDRES in topology.streams "
            "(declared: ORDERS)",
        ),
        (
            HEAD + "topology: {kind: cluster, size: 3, jetstream: true}\n"
            "faults: [{fault: pause, target: leader:ORDERS}]\n",
            "{p}:5: faults[0].target: leader:ORDERS: no stream ORDERS in topology.streams "
            "(declared: none)",
        ),
        (
            HEAD + "topology: {kind: pool, size: 3}\n"
            "faults: [{fault: stop, target: 'follower:ORDERS'}]\n",
            "{p}:5: faults[0].target: follower:ORDERS needs a cluster topology with "
            "jetstream: true, got pool without jetstream",
        ),
        (
            HEAD + JS_CLUSTER + "faults:\n  - fault: kill\n    target: leader:a.b\n",
            "{p}:11: faults[0].target: expected 'server', 'node:<i>', 'leader:<stream>' or "
            "'follower:<stream>', got 'leader:a.b'",
        ),
        (
            HEAD + JS_CLUSTER + "faults:\n  - fault: isolate\n    target: server\n",
            "{p}:11: faults[0].target: expected 'node:<i>', 'leader:<stream>' or "
            "'follower:<stream>', got 'server'",
        ),
        (
            HEAD + "faults: [{fault: isolate}]\n",
            "{p}:4: faults[0].target: required field is missing",
        ),
        (
            HEAD + "faults: [{fault: isolate, target: node:1}]\n",
            "{p}:4: faults[0].target: node:1 needs a cluster topology, got server",
        ),
        (
            HEAD + JS_CLUSTER + "faults:\n  - fault: isolate\n    target: node:3\n",
            "{p}:11: faults[0].target: node 3 is not in the topology: a cluster of size 3 has 0..2",
        ),
        (
            HEAD + "faults: [{fault: frames, verb: PUB, nth: 2, every: 3}]\n",
            "{p}:4: faults[0]: at most one of nth, every, first, after; got nth, every",
        ),
        (
            HEAD + "service:\n  when: 2024-01-01\n",
            "{p}:5: service.when: expected plain YAML data (string, number, bool, null, list or "
            "mapping), got datetime.date(2024, 1, 1)",
        ),
        (
            HEAD + "workload:\n  publishes:\n    subjects: [orders.*]\n",
            "{p}:6: workload.publishes.subjects[0]: expected a NATS subject without wildcards "
            "(tokens joined by '.'), got 'orders.*'",
        ),
        (HEAD + "timeout_s: '10'\n", "{p}:4: timeout_s: expected a number, got '10'"),
        (
            HEAD + "topology:\n  1: x\n",
            "{p}:5: topology.1: unknown key 1; allowed: kind, size, jetstream, server, "
            "streams, consumers",
        ),
        (
            HEAD + "faults:\n - fault: frames\n   verb: pub\n",
            "{p}:6: faults[0].verb: expected a protocol verb in capitals (PUB, MSG, PONG...), "
            "a family (PUB*, MSG*) or '*', got 'pub'",
        ),
        (
            HEAD + "workload: {publishes: {count: 5}}\n"
            "faults:\n  - fault: down\n    trigger: {after: publish, nth: 6}\n",
            "{p}:7: faults[0].trigger.nth: the publish #6 never happens: the workload makes "
            "5 publishes",
        ),
        (
            HEAD + "workload: {requests: {count: 2}}\n"
            "faults:\n  - fault: down\n    trigger: {after: request, nth: 3}\n",
            "{p}:7: faults[0].trigger.nth: the request #3 never happens: the workload makes "
            "2 requests",
        ),
        (
            HEAD + "workload: {publishes: {count: 5}}\ntimeout_s: 10\n"
            "faults:\n  - fault: down\n    trigger: {at_s: 10}\n",
            "{p}:8: faults[0].trigger.at_s: at_s 10.0 is not before the scenario's timeout_s "
            "10.0: the fault could never fire",
        ),
        (
            HEAD + "faults:\n  - fault: down\n    trigger: {at_s: 1}\n",
            "{p}:6: faults[0].trigger.at_s: at_s 1.0 falls after the workload ended: it has "
            "nothing to do (no publishes, requests, messages or inputs)",
        ),
        (
            "name: x\nclaims: [a]\ncheckers:\n  - name: backoff\n    params: {base: abc}\n",
            "{p}:5: checkers[0].params.base: checker 'backoff': parameter 'base' must be a "
            "valid number, got 'abc'",
        ),
        (
            "name: x\nclaims: [a]\ncheckers:\n  - name: accounting\n"
            "    params: {allow_duplicates: 1}\n",
            "{p}:5: checkers[0].params.allow_duplicates: checker 'accounting': parameter "
            "'allow_duplicates' must be a valid boolean, got 1",
        ),
        (
            "name: x\nclaims: [a]\ncheckers:\n  - name: exceptions\n"
            "    params: {f: request, expected_types: NATSRequestError}\n",
            "{p}:5: checkers[0].params.expected_types: checker 'exceptions': parameter "
            "'expected_types' must be a valid list, got 'NATSRequestError'",
        ),
        (
            "name: x\nclaims: [a]\ncheckers:\n  - name: loop_lag\n"
            "    params: {threshold_ms: .inf}\n",
            "{p}:5: checkers[0].params.threshold_ms: checker 'loop_lag': parameter "
            "'threshold_ms' must be a finite number, got inf",
        ),
        (
            "name: x\nclaims: [a]\nexpect: {start: maybe}\ncheckers: [{name: pool}]\n",
            "{p}:3: expect.start: expected one of 'ok' or 'fail', got 'maybe'",
        ),
        ("name: x\nclaims: [batch.no-loss]\n", "{p}:1: checkers: required field is missing"),
        (
            HEAD + "---\n" + HEAD,
            "{p}:4: invalid YAML: expected a single document in the stream but found another "
            "document (the construct started on line 1)",
        ),
    ],
)
def test_invalid_text(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(body)
    assert str(_error(path)) == message.format(p=path)


def test_several_problems_are_all_reported_in_line_order(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text(HEAD + "timeout_s: -1\nseed: -2\nfaults: [{fault: latency, ms: -3}]\n")
    err = _error(path)
    assert [(i.line, i.field) for i in err.issues] == [
        (4, "timeout_s"),
        (5, "seed"),
        (6, "faults[0].ms"),
    ]
    assert str(err).count("\n") == 2


def test_unknown_claim_id_against_the_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "claims.yaml"
    path.write_text("name: x\nclaims:\n  - batch.no-loss\n  - made.up\ncheckers: [{name: pool}]\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, claims=load_claims(CLAIMS))
    assert str(info.value) == (
        f"{path}:4: claims[1]: unknown claim id 'made.up'; "
        "known: batch.retry-backoff, batch.no-loss, pool.degrade"
    )
    assert load_scenario(path).claims == ("batch.no-loss", "made.up")  # no catalogue: no check


def test_missing_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    err = _error(path)
    assert str(err).startswith(f"{path}: cannot read file: ")
    assert err.line == 0


def test_bad_claims_catalogue() -> None:
    text = "good.id: fine\nBad_Id: x\nother: 5\ngood.id: again\n"
    with pytest.raises(ScenarioError) as info:
        parse_claims(text, "claims.yaml")
    assert str(info.value) == "claims.yaml:4: duplicate key 'good.id' (first defined on line 1)"
    with pytest.raises(ScenarioError) as info:
        parse_claims(text.rsplit("good.id", 1)[0], "claims.yaml")
    assert str(info.value) == (
        "claims.yaml:2: Bad_Id: expected a claim id (lower case letters, digits, '.' and '-'), "
        "got 'Bad_Id'\nclaims.yaml:3: other: expected a string, got 5"
    )
