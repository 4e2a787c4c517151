"""Runs that tested nothing are never ``valid``: each vacuous case, as a user meets it.

Every case runs twice, as an outside project runs it: ``nats-harness run`` and plain
``pytest`` in a folder of its own, with its scenario files and, where the case needs one,
its own service module. Before the evidence rule each of them said ``valid`` (exit 0).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
HEAD = "claims: [fix.typed-errors]\n"

# A service that dials only the first URL it is given: in a pool it never uses the
# member links; in a cluster it lands on node 1 (as a client that shuffles its list may).
SUTS = """
from dataclasses import replace

from nats_fault_harness.scenario.reference_sut import make_reference_sut


class FirstUrlOnly:
    def __init__(self, pick):
        self._inner = make_reference_sut()
        self._pick = pick
        self.name = self._inner.name

    async def start(self, env, report):
        url = self._pick(env)
        env = replace(env, servers=(url,), member_urls=tuple(url for _ in env.member_urls))
        return await self._inner.start(env, report)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def servers_0_only():
    return FirstUrlOnly(lambda env: env.servers[0])


def node_1_only():
    return FirstUrlOnly(lambda env: env.servers[1])


class Broken:
    name = "broken"

    async def start(self, env, report):
        raise RuntimeError("cannot read my settings")

    async def stop(self):
        pass


for _m in ("publish", "publish_batched", "flush", "recover", "request", "subscribe",
           "unsubscribe"):
    setattr(Broken, _m, lambda self, *a: None)


def broken():
    return Broken()
"""

CASES = {
    "typo-in-service": (
        None,
        "topology: {kind: server}\nservice: {batch_sise: 10}\n"
        "workload: {publishes: {count: 50}}\ncheckers: [{name: accounting}]\n",
        "INVALID",
        "failed to start (ConfigError",
    ),
    "pool-size-rejected": (
        None,
        "topology: {kind: server}\nservice: {pool_size: 1000}\n"
        "workload: {publishes: {count: 50}}\ncheckers: [{name: accounting}]\n",
        "INVALID",
        "failed to start",
    ),
    "sut-start-raises": (
        "svc_under_test:broken",
        "topology: {kind: server}\nworkload: {publishes: {count: 50}}\n"
        "checkers: [{name: accounting}]\n",
        "INVALID",
        "failed to start (RuntimeError: cannot read my settings)",
    ),
    "fault-after-the-workload": (
        None,
        "topology: {kind: server}\nworkload: {publishes: {count: 5}}\n"
        "faults: [{fault: down, trigger: {at_s: 20, for_s: 1}}]\n"
        "checkers: [{name: accounting}]\ntimeout_s: 30\n",
        "UNKNOWN",
        "fault 0 (down on link, at 20 s, for 1 s) was never applied",
    ),
    "event-that-never-happens": (
        None,
        "topology: {kind: server}\nworkload: {publishes: {count: 20}}\n"
        "faults: [{fault: kill, trigger: {after: reconnect, nth: 3, for_s: 1}}]\n"
        "checkers: [{name: accounting}]\n",
        "UNKNOWN",
        "fault 0 (kill on server, after reconnect #3, for 1 s) was never applied",
    ),
    "pool-member-never-dialled": (
        "svc_under_test:servers_0_only",
        "topology: {kind: pool, size: 3}\nservice: {pool_size: 3}\n"
        "workload: {publishes: {count: 40, rate_per_s: 40, subjects: [hv.a]}}\n"
        "faults: [{fault: break_members, members: [1], how: blackhole, "
        "trigger: {at_s: 0.2, for_s: 0.5}}]\n"
        "checkers: [{name: accounting}]\n",
        "UNKNOWN",
        "did not reach the service",
    ),
    "cluster-node-not-cut": (
        "svc_under_test:node_1_only",
        "topology: {kind: cluster, size: 3}\nservice: {connection: {max_reconnect_attempts: -1}}\n"
        "workload: {requests: {count: 12, rate_per_s: 6, subject: hv.rpc, timeout_s: 0.4}}\n"
        "faults: [{fault: partition, a: 0, b: 2, trigger: {at_s: 0.5, for_s: 1.0}}]\n"
        "checkers:\n  - name: exceptions\n    params: {f: request, expected_types: "
        "[NATSRequestError], required_fields: [subject, timeout]}\n",
        "UNKNOWN",
        "did not reach the service",
    ),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("honest")
    (root / "svc_under_test.py").write_text(textwrap.dedent(SUTS))
    folder = root / "scenarios"
    folder.mkdir()
    for name, (_, body, _, _) in CASES.items():
        (folder / f"{name}.yaml").write_text(f"name: {name}\n{HEAD}{body}")
    return root


def _run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*args], cwd=project, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_nats_harness_run_gives_the_honest_verdict(project: Path, case: str) -> None:
    sut, _, verdict, reason = CASES[case]
    report = project / f"{case}.json"
    args = [str(BIN / "nats-harness"), "run", f"scenarios/{case}.yaml", "--report", str(report)]
    out = _run(project, *args, *(["--sut", sut] if sut else []))
    assert out.returncode == 1, out.stdout + out.stderr
    assert re.search(rf"{case}\.yaml::{case} +{verdict} ", out.stdout), out.stdout
    assert reason in out.stdout, out.stdout
    (row,) = json.loads(report.read_text())["scenarios"]
    assert row["verdict"] == verdict
    assert reason in row["message"]
    if sut is None:
        assert "service under test: the reference service" in out.stdout
    else:
        assert f"service under test: {sut}" in out.stdout


@pytest.mark.parametrize("case", sorted(CASES))
def test_pytest_gives_the_honest_verdict(project: Path, case: str) -> None:
    sut, _, verdict, reason = CASES[case]
    out = _run(
        project,
        sys.executable,
        "-m",
        "pytest",
        f"scenarios/{case}.yaml",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        *(["--sut", sut] if sut else []),
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert "1 failed" in out.stdout, out.stdout
    word = "unknown" if verdict == "UNKNOWN" else "INVALID"
    assert f"evidence: {word}: " in out.stdout, out.stdout
    assert reason in out.stdout, out.stdout
    assert "service under test: " in out.stdout


def test_the_same_faults_are_valid_for_a_service_that_uses_the_faulted_links(
    project: Path,
) -> None:
    """The control: the reference service dials every member and node 0; no false unknown."""
    names = ("pool-member-never-dialled", "cluster-node-not-cut")
    report = project / "control.json"
    files = [f"scenarios/{n}.yaml" for n in names]
    out = _run(project, str(BIN / "nats-harness"), "run", *files, "--report", str(report))
    assert out.returncode == 0, out.stdout + out.stderr
    rows = json.loads(report.read_text())["scenarios"]
    assert [r["verdict"] for r in rows] == ["valid", "valid"]
    assert "hit sut-pool-1" in rows[0]["evidence"]
    assert "hit sut-main" in rows[1]["evidence"]
