"""A consumer-shaped service of a user's own, run against the library as a user runs it.

The service is a plain nats-py responder (``Service`` with the ``respond`` capability
only), in an outside folder. ``nats-harness run`` over the whole library runs the
consumer scenarios against it and skips every scenario that needs what it lacks
(publishing, batches, requests...), with the reason; a variant that answers one request
twice after a reconnect is caught.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

SERVICE = '''
import json

import nats

from nats_fault_harness.services import Endpoint, Service


class Quotes(Service):
    """A pricing responder: answers each request on quotes.get with its id and a price."""

    name = "quotes"
    capabilities = frozenset({"respond"})
    twice_after_reconnect = False
    quit_after = None

    async def start(self, env, report):
        self.reconnected = False
        callbacks = self.connection_callbacks(report)
        on_reconnect = callbacks["reconnected_cb"]

        async def reconnected():
            self.reconnected = True
            await on_reconnect()

        callbacks["reconnected_cb"] = reconnected
        self.nc = await nats.connect(
            env.servers[0], name="quotes", max_reconnect_attempts=-1,
            reconnect_time_wait=0.05, **callbacks,
        )
        self.answered = 0
        self.sub = await self.nc.subscribe("quotes.get", queue="quotes", cb=self.answer)
        await self.nc.flush()
        return self.single_connection()

    async def answer(self, msg):
        body = json.dumps({"id": json.loads(msg.data)["id"], "price": 42}).encode()
        await msg.respond(body)
        self.answered += 1
        if self.answered == self.quit_after:
            await self.sub.unsubscribe()  # the defect: it stops serving, silently
        if self.twice_after_reconnect and self.reconnected:
            self.reconnected = False
            await msg.respond(body)  # the defect

    def endpoints(self):
        return [Endpoint("quotes.get", queue="quotes", name="quotes")]

    async def stop(self):
        await self.nc.close()


def make():
    return Quotes()


def make_quitter():
    service = Quotes()
    service.quit_after = 8
    return service


def make_broken():
    service = Quotes()
    service.twice_after_reconnect = True
    return service
'''

SCENARIOS = ("respond-control", "respond-during-reset", "publish-link-drop", "pool-full")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("consumer")
    (root / "quotes_service.py").write_text(textwrap.dedent(SERVICE))
    folder = root / "scenarios"
    folder.mkdir()
    for name in (*SCENARIOS, "claims"):
        (folder / f"{name}.yaml").write_bytes((ROOT / "scenarios" / f"{name}.yaml").read_bytes())
    return root


def _run(project: Path, sut: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    out = subprocess.run(
        [BIN / "nats-harness", "run", "scenarios", "--sut", sut, "--jobs", "1"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    (summary,) = sorted((project / "reports").glob("run-*.json"))[-1:]
    rows = json.loads(summary.read_text())["scenarios"]
    verdicts = {row["id"].rsplit("::", 1)[-1]: row["verdict"].lower() for row in rows}
    return out, verdicts


@pytest.mark.slow
def test_a_responder_runs_what_it_can_and_skips_the_rest(project: Path) -> None:
    out, verdicts = _run(project, "quotes_service:make")
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert verdicts == {
        "respond-control": "valid",
        "respond-during-reset": "valid",
        "publish-link-drop": "skipped",
        "pool-full": "skipped",
    }, text
    assert "lacks publish (workload.publishes needs publish)" in text
    assert "lacks batch" in text


@pytest.mark.slow
def test_a_responder_that_answers_twice_after_a_reconnect_is_caught(project: Path) -> None:
    out, verdicts = _run(project, "quotes_service:make_broken")
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert verdicts["respond-during-reset"] == "invalid", text
    assert verdicts["respond-control"] == "valid", text
    assert "answered more than once" in text


@pytest.mark.slow
def test_a_responder_that_stops_serving_is_caught_not_answered_by_no_responders(
    project: Path,
) -> None:
    # once nobody subscribes, the server answers each request with a 503 status message:
    # the driver must not count that as the service's reply
    out, verdicts = _run(project, "quotes_service:make_quitter")
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert verdicts["respond-control"] == "invalid", text
    assert "were never answered" in text
