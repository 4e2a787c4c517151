"""Real nats-server processes: binary lookup, config rendering, servers and clusters."""

from nats_fault_harness.servers._binary import binary_version, find_binary
from nats_fault_harness.servers._cluster import NatsCluster
from nats_fault_harness.servers._config import Auth, ClusterSpec, ServerConfig, render_config
from nats_fault_harness.servers._server import NatsServer

__all__ = [
    "Auth",
    "ClusterSpec",
    "NatsCluster",
    "NatsServer",
    "ServerConfig",
    "binary_version",
    "find_binary",
    "render_config",
]
