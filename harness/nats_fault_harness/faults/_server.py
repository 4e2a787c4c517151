"""Process faults on a server: kill, pause, lame duck, restart."""

from __future__ import annotations

from nats_fault_harness.faults._base import Fault, FaultLog
from nats_fault_harness.servers import NatsServer

__all__ = ["ServerFaults"]


class ServerFaults:
    """Faults on one :class:`~nats_fault_harness.servers.NatsServer`, journaled to a log.

    Each method returns a :class:`~nats_fault_harness.faults.Fault`; with ``with``/``async with``
    the
    server is brought back when the block ends.
    """

    def __init__(self, server: NatsServer, log: FaultLog) -> None:
        self.server = server
        self.log = log
        self.target = f"server:{server.name}"

    def _restart_if_down(self) -> None:
        if self.server.is_paused:
            self.server.resume()
        if not self.server.is_running:
            self.server.start()

    def kill(self) -> Fault:
        """SIGKILL; healing restarts it on the same port and store dir."""
        return Fault(self.log, "kill", self.target, {}, self.server.kill, self._restart_if_down)

    def stop(self) -> Fault:
        """Graceful stop (SIGTERM); healing starts it again on the same port."""
        return Fault(self.log, "stop", self.target, {}, self.server.stop, self._restart_if_down)

    def pause(self) -> Fault:
        """SIGSTOP (connections accepted by the kernel, nothing answered); heal = SIGCONT."""
        return Fault(self.log, "pause", self.target, {}, self.server.pause, self.server.resume)

    def lame_duck(self) -> Fault:
        """Lame-duck mode: clients are told, evicted, and the server exits; heal restarts."""

        def heal() -> None:
            if self.server.is_running:
                self.server.kill()
            self._restart_if_down()

        return Fault(self.log, "lame_duck", self.target, {}, self.server.lame_duck, heal)

    def restart(self, *, graceful: bool = False) -> Fault:
        """An instant fault: kill (or stop) and start again on the same port."""

        def apply() -> None:
            self.server.restart(graceful=graceful)

        return Fault(self.log, "restart", self.target, {"graceful": graceful}, apply, None)
