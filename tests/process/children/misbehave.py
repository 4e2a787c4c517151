"""A process-protocol child that misbehaves on purpose: the nats-py adapter plus one defect.

``MISBEHAVE=<mode>[:<n>]`` picks the defect, at the ``n``-th ``publish`` command:

- ``die``: the process exits (code 3) without answering;
- ``hang``: that publish and every later command are never answered;
- ``garbage``: a line that is not JSON on stdout instead of the answer;
- ``unknown``: a message of a type the protocol does not have instead of the answer;
- ``exit-on-start``: exits (code 2) on the ``start`` command, after its hello;
- ``silent``: never says hello (sleeps);
- ``exit-now``: exits (code 4) before its hello, with a word on stderr.

At ``start`` it also starts a grandchild (``sleep``) in its own process group, and reports
its pid in a ``grandchild`` event, so a test can check the whole tree is gone.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "clients" / "python"))

import natspy_adapter as base

MODE, _, AT = os.environ.get("MISBEHAVE", "").partition(":")
N = int(AT or 1)


class Misbehaving(base.Adapter):
    def __init__(self) -> None:
        super().__init__()
        self.publishes = 0
        self.hung = False
        self.grandchild: subprocess.Popen[bytes] | None = None

    async def run(self, cmd: dict[str, Any]) -> None:
        kind = cmd.get("type")
        if self.hung:
            return
        if kind == "start":
            if MODE == "exit-on-start":
                os._exit(2)
            self.grandchild = subprocess.Popen(["sleep", "300"])  # noqa: ASYNC220
            base.event("grandchild", pid=self.grandchild.pid)
        if kind == "publish":
            self.publishes += 1
            if self.publishes >= N:
                if MODE == "die":
                    os._exit(3)
                if MODE == "hang":
                    self.hung = True
                    return
                if MODE == "garbage":
                    sys.stdout.write("hello world, this is not the protocol\n")
                    sys.stdout.flush()
                    return
                if MODE == "unknown":
                    base.send({"type": "bogus", "id": cmd.get("id")})
                    return
        await super().run(cmd)


if __name__ == "__main__":
    if MODE == "silent":
        time.sleep(300)
    if MODE == "exit-now":
        print("misbehave: exiting before hello", file=sys.stderr)
        sys.exit(4)
    asyncio.run(base.main(Misbehaving()))
