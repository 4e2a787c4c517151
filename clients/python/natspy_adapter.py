"""nats-py behind the process protocol: the reference adapter (docs/process-protocol.md).

A plain nats-py client with the library's defaults (reconnect settings, ping interval,
timeouts: none changed), driven by the nats-fault-harness runner over stdin/stdout in JSON
lines. It has no logic of the reference service: no retries, no typed errors of its own, no
batching. What the client raises is reported as it is (its type and message, and its
cause), so the harness judges nats-py itself.

It imports nothing from the harness (only the standard library and nats-py): a service
under test must not depend on the harness that tests it. Run by the harness as
``python natspy_adapter.py``; standard output is the protocol channel, logs go to standard
error. It exits when its standard input closes.

Endpoints it serves from ``start`` on: ``proc.quote`` (respond: echoes the request) and
``proc.orders`` (republish: each input is published unchanged on ``proc.orders.done``),
both in the queue group ``proc``.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

PROTOCOL = 1
NAME = "nats-py"
CAPABILITIES = ["publish", "jetstream_publish", "request", "subscribe", "respond", "republish"]
RESPOND = {"subject": "proc.quote", "queue": "proc", "name": "quote"}
REPUBLISH = {
    "subject": "proc.orders",
    "output": "proc.orders.done",
    "queue": "proc",
    "name": "orders",
}


def send(message: dict[str, Any]) -> None:
    """Write one protocol line (with this process's clock) and flush it."""
    message["t"] = time.monotonic()
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def event(kind: str, **detail: Any) -> None:
    """Stream a client event."""
    send({"type": "event", "kind": kind, "detail": detail})


def error_object(exc: BaseException) -> dict[str, Any]:
    """A ``kind: client`` error: the exception's type, module, message and cause."""
    out: dict[str, Any] = {
        "kind": "client",
        "type": type(exc).__name__,
        "module": type(exc).__module__,
        "message": str(exc) or repr(exc),
    }
    cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    if cause is not None:
        out["cause"] = error_object(cause)
    return out


class Refused(Exception):
    """A command this adapter cannot carry out (``kind``: unsupported, bad_request...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Adapter:
    """One nats-py connection and the commands on it."""

    def __init__(self) -> None:
        self.nc: Client | None = None
        self.subs: dict[str, Subscription] = {}
        self.sids = itertools.count(1)
        self.commands: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
            "start": self.start,
            "publish": self.publish,
            "publish_jetstream": self.publish_jetstream,
            "request": self.request,
            "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe,
            "close": self.close,
        }

    def client(self) -> Client:
        if self.nc is None:
            raise Refused("bad_request", "not started")
        return self.nc

    async def start(self, cmd: dict[str, Any]) -> dict[str, Any]:
        async def disconnected() -> None:
            event("disconnected")

        async def reconnected() -> None:
            event("reconnected")

        async def closed() -> None:
            event("closed")

        async def error(exc: Exception) -> None:
            event("error", error=f"{type(exc).__name__}: {exc}")

        self.nc = await nats.connect(
            servers=list(cmd["servers"]),
            name=str(cmd.get("name") or NAME),
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
            closed_cb=closed,
            error_cb=error,
        )
        event(
            "connected", server=str(self.nc.connected_url.netloc if self.nc.connected_url else "")
        )
        endpoints = []
        if cmd.get("inputs") == "respond":
            await self.nc.subscribe(RESPOND["subject"], queue=RESPOND["queue"], cb=self._answer)
            endpoints.append(RESPOND)
        elif cmd.get("inputs") == "republish":
            await self.nc.subscribe(
                REPUBLISH["subject"], queue=REPUBLISH["queue"], cb=self._republish
            )
            endpoints.append(REPUBLISH)
        else:
            endpoints += [RESPOND, REPUBLISH]
        return {"endpoints": endpoints}

    async def _answer(self, msg: Msg) -> None:
        await msg.respond(msg.data)

    async def _republish(self, msg: Msg) -> None:
        await self.client().publish(REPUBLISH["output"], msg.data)

    async def publish(self, cmd: dict[str, Any]) -> dict[str, Any]:
        nc = self.client()
        await nc.publish(cmd["subject"], base64.b64decode(cmd["data"]))
        await nc.flush()
        return {}

    async def publish_jetstream(self, cmd: dict[str, Any]) -> dict[str, Any]:
        headers = {"Nats-Msg-Id": cmd["msg_id"]} if cmd.get("dedupe") else None
        ack = (
            await self.client()
            .jetstream()
            .publish(cmd["subject"], base64.b64decode(cmd["data"]), headers=headers)
        )
        return {"stream": ack.stream, "seq": ack.seq, "duplicate": bool(ack.duplicate)}

    async def request(self, cmd: dict[str, Any]) -> dict[str, Any]:
        msg = await self.client().request(
            cmd["subject"], base64.b64decode(cmd["data"]), timeout=float(cmd["timeout"])
        )
        return {"data": base64.b64encode(msg.data).decode()}

    async def subscribe(self, cmd: dict[str, Any]) -> dict[str, Any]:
        sub = await self.client().subscribe(cmd["subject"], queue=cmd.get("queue") or "")
        sid = str(next(self.sids))
        self.subs[sid] = sub
        return {"sid": sid}

    async def unsubscribe(self, cmd: dict[str, Any]) -> dict[str, Any]:
        sub = self.subs.pop(str(cmd["sid"]), None)
        if sub is None:
            raise Refused("bad_request", f"no subscription {cmd['sid']!r}")
        await sub.unsubscribe()
        return {}

    async def close(self, cmd: dict[str, Any]) -> dict[str, Any]:
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.close()
        return {}

    async def run(self, cmd: dict[str, Any]) -> None:
        """Carry out one command and answer it (``ok`` or a typed ``error``)."""
        ident = cmd.get("id")
        handler = self.commands.get(str(cmd.get("type")))
        try:
            if handler is None:
                raise Refused("unsupported", f"unknown command {cmd.get('type')!r}")
            result = await handler(cmd)
        except Refused as exc:
            send({"type": "error", "id": ident, "error": {"kind": exc.kind, "message": str(exc)}})
        except (KeyError, TypeError, ValueError) as exc:
            error = {"kind": "bad_request", "message": f"{type(exc).__name__}: {exc}"}
            send({"type": "error", "id": ident, "error": error})
        except Exception as exc:  # the client's own error: reported as it is
            send({"type": "error", "id": ident, "error": error_object(exc)})
        else:
            send({"type": "ok", "id": ident, "result": result})


async def main(adapter: Adapter | None = None) -> None:
    """Say hello, then carry out each command line until stdin closes."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    client = "nats.py " + getattr(nats.aio.client, "__version__", "?")
    send(
        {
            "type": "hello",
            "protocol": PROTOCOL,
            "name": NAME,
            "client": client,
            "capabilities": CAPABILITIES,
        }
    )
    adapter = adapter or Adapter()
    running: set[asyncio.Task[None]] = set()
    while line := await reader.readline():
        if not line.strip():
            continue
        try:
            cmd = json.loads(line)
        except ValueError:
            print(f"natspy_adapter: not a command: {line[:200]!r}", file=sys.stderr)
            continue
        task = asyncio.create_task(adapter.run(cmd))
        running.add(task)
        task.add_done_callback(running.discard)
    # stdin closed: the runner is done with us
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    if adapter.nc is not None and not adapter.nc.is_closed:
        await adapter.nc.close()


if __name__ == "__main__":
    asyncio.run(main())
