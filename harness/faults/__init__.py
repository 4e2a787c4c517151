"""The fault API tests use: every fault is a context manager that heals and journals itself."""

from harness.faults._base import Fault, FaultLog
from harness.faults._server import ServerFaults

__all__ = ["Fault", "FaultLog", "ServerFaults"]
