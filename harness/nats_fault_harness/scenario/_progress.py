"""Where a running scenario is: its phases, written for ``nats-harness run``'s live line.

``nats-harness run`` sets :data:`ENV` to a folder of its own; every scenario item (in this
process or in an xdist worker, which inherits the environment) then writes its current
phase (``topology``, ``faults``, ``start``, ``workload``, ``heal``, ``drain``, ``stop``,
``checkers``) to one small file named after its node id, and the command's live line
reads them. Without :data:`ENV` nothing is written. A write that fails is ignored: the
live line is a convenience, never a reason for a scenario to fail.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["ENV", "PHASES", "phase_file", "phase_writer", "read_phase"]

ENV = "NATS_HARNESS_PROGRESS"
PHASES = ("topology", "faults", "start", "workload", "heal", "drain", "stop", "checkers")


def phase_file(folder: str | Path, nodeid: str) -> Path:
    """The file holding ``nodeid``'s phase in ``folder``."""
    return Path(folder) / hashlib.sha1(nodeid.encode(), usedforsecurity=False).hexdigest()


def phase_writer(nodeid: str) -> Callable[[str], None] | None:
    """A function recording ``nodeid``'s phase, or ``None`` when nobody reads them."""
    folder = os.environ.get(ENV)
    if not folder:
        return None
    path = phase_file(folder, nodeid)

    def write(phase: str) -> None:
        try:
            path.write_text(phase, encoding="utf-8")
        except OSError:
            pass

    return write


def read_phase(folder: str | Path, nodeid: str) -> str:
    """The phase ``nodeid`` last wrote (``""`` if none yet)."""
    try:
        return phase_file(folder, nodeid).read_text(encoding="utf-8")[:20]
    except OSError:
        return ""
