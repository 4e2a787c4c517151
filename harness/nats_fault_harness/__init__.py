"""nats-fault-harness: test NATS clients against real servers under real faults."""

from typing import TYPE_CHECKING, Any

from nats_fault_harness._version import __version__
from nats_fault_harness._wait import wait_until, wait_until_async

if TYPE_CHECKING:
    from nats_fault_harness._harness import Harness

__all__ = ["Harness", "__version__", "wait_until", "wait_until_async"]


def __getattr__(name: str) -> Any:
    """``Harness`` is imported on first use (it pulls in the servers, proxy and faults)."""
    if name == "Harness":
        from nats_fault_harness._harness import Harness

        return Harness
    raise AttributeError(f"module 'nats_fault_harness' has no attribute {name!r}")
