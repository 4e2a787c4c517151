"""The service's loggers: stable names, one per concern, all under ``nats_service``.

The remediation summary promises that failures are logged: each pool connection that
fails at initialization with its specific error, a partial initialization "with warning",
and batch failures. The service logs through the standard :mod:`logging` module only
(no handler is installed here; the application decides where records go). Names and
levels are part of the service's interface:

===========================  =========================================================
logger                       records
===========================  =========================================================
``nats_service.pool``        WARNING per pool member that failed to connect, with its
                             error; WARNING "pool initialized with warning" (partial);
                             ERROR "pool disabled" (every member failed); INFO full.
``nats_service.connection``  WARNING on a connection error or a lost connection;
                             INFO on a reconnect.
``nats_service.batch``       INFO when a group's attempt failed and it will be retried;
                             WARNING when a group is moved to the failed batch queue
                             (subject, message count, attempts, error); INFO/WARNING for
                             recover_failed_batches().
``nats_service.health``      WARNING when a connection fails its health check; INFO
                             when it passes again.
``nats_service.observer``    ERROR (with the traceback) when an observer callback raised.
===========================  =========================================================

Every message names what it is about: the connection (``<service>-main``,
``<service>-pool-<i>``) or the group's subject.
"""

from __future__ import annotations

import logging

__all__ = [
    "LOGGER_PREFIX",
    "batch_log",
    "connection_log",
    "health_log",
    "observer_log",
    "pool_log",
]

LOGGER_PREFIX = "nats_service"
"""The parent of every logger of the service (a handler there sees all of them)."""

pool_log = logging.getLogger(f"{LOGGER_PREFIX}.pool")
connection_log = logging.getLogger(f"{LOGGER_PREFIX}.connection")
batch_log = logging.getLogger(f"{LOGGER_PREFIX}.batch")
health_log = logging.getLogger(f"{LOGGER_PREFIX}.health")
observer_log = logging.getLogger(f"{LOGGER_PREFIX}.observer")
