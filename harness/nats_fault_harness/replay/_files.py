"""Replay files: a falsifying scenario as YAML under ``reports/replays/``, with a header.

The header is YAML comments, so the file is an ordinary scenario file::

    # nats-fault-harness replay: falsifying example of tests/property/test_x.py::test_y
    # sut: nats_fault_harness.scenario.reference_sut:make_reference_sut
    # verdict: accounting: 1 lost (confirmed, never received): ...
    # replay: nats-harness replay reports/replays/test_y-0123456789.yaml
    #         pytest reports/replays/test_y-0123456789.yaml
    name: test_y-0123456789
    ...

``nats-harness replay FILE`` runs it against the service named by the ``# sut:`` line
(``--sut`` overrides it).
"""

from __future__ import annotations

import hashlib
import re
import shlex
from pathlib import Path

from nats_fault_harness.scenario import Scenario, dump_scenario
from nats_fault_harness.scenario._collect import DEFAULT_SUT

__all__ = ["DEFAULT_REPLAY_DIR", "read_sut", "replay_commands", "write_replay"]

DEFAULT_REPLAY_DIR = Path("reports") / "replays"
_SUT_LINE = re.compile(r"^#\s*sut:\s*(\S+)\s*$")


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.-")
    return slug[:60] or "property"


def replay_commands(path: Path, sut: str) -> list[str]:
    """The commands that replay ``path`` against ``sut`` (``--sut`` only if not the default)."""
    file = shlex.quote(str(path))
    flag = "" if sut == DEFAULT_SUT else f" --sut {shlex.quote(sut)}"
    return [f"nats-harness replay {file}{flag}", f"pytest {file}{flag}"]


def write_replay(
    scenario: Scenario,
    *,
    test: str,
    sut: str = DEFAULT_SUT,
    verdict: str = "",
    directory: Path | str = DEFAULT_REPLAY_DIR,
) -> Path:
    """Write ``scenario`` as a replay file; return its path (``<test>-<hash>.yaml``).

    The hash is of the scenario, so the same falsifying example always lands in the same
    file. The scenario is renamed after the file (its pytest id).

    Args:
        scenario: the falsifying scenario.
        test: the test that found it (pytest node id or any name).
        sut: the ``module:factory`` of the service it failed against.
        verdict: why it failed (first line is kept in the header).
        directory: where to write (created if missing).
    """
    digest = hashlib.sha256(dump_scenario(scenario).encode()).hexdigest()[:10]
    stem = f"{_slug(test.rsplit('::', 1)[-1])}-{digest}"
    renamed = scenario.model_copy(update={"name": stem})
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.yaml"
    first, *more = replay_commands(path, sut)
    why = " ".join(verdict.split())[:300]
    header = [
        f"# nats-fault-harness replay: falsifying example of {test}",
        f"# sut: {sut}",
        *([f"# verdict: {why}"] if why else []),
        f"# replay: {first}",
        *(f"#         {cmd}" for cmd in more),
    ]
    path.write_text("\n".join(header) + "\n" + dump_scenario(renamed), encoding="utf-8")
    return path


def read_sut(path: Path | str) -> str | None:
    """The ``# sut:`` of a replay file's header (``None`` if it has none)."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("#"):
                return None
            match = _SUT_LINE.match(line.strip())
            if match:
                return match.group(1)
    return None
