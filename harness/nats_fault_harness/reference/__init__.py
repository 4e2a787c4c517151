"""The reference service: the NATS service and message broker of the remediation summary,
built for real on nats-py.

It is the system the fault harness verifies and a model users can copy, so it depends on
nothing in the harness (``nats_fault_harness.*`` outside ``nats_fault_harness.reference`` is
never imported here): the system under test must not depend on the code that tests it. The harness
observes it through this public API, its observer events and its stats.

Parts: :class:`NATSService` (connection pool, confirmed and batched publishing with
partial flush, retries and a failed batch queue, subscriptions, requests, health checks),
:class:`NATSMessageBroker` (validated JSON messages, subject management, manual ack),
:class:`NATSConfig`, the message schemas, :class:`NATSSubjectManager` and the exception
tree rooted at :class:`NATSError`. The error-handling strategy and the delivery guarantee
are in ``docs/error-handling.md``. Failures are logged through :mod:`logging` under
:data:`LOGGER_PREFIX` (``nats_service.pool``, ``.connection``, ``.batch``, ``.health``,
``.observer``; see ``_logging``).
"""

from nats_fault_harness.reference._delivery import OutgoingMessage
from nats_fault_harness.reference._events import EventKind, Observer, ServiceEvent
from nats_fault_harness.reference._jetstream import JetStreamAck
from nats_fault_harness.reference._logging import LOGGER_PREFIX
from nats_fault_harness.reference._results import (
    ConnectionStats,
    FailedGroup,
    FlushResult,
    PoolInitReport,
    RecoveryResult,
    RetryRecord,
)
from nats_fault_harness.reference._subscriptions import Handler, IncomingMessage, SubscriptionInfo
from nats_fault_harness.reference.broker import BrokerStats, MessageHandler, NATSMessageBroker
from nats_fault_harness.reference.config import ConnectionOptions, NATSConfig
from nats_fault_harness.reference.nats_exceptions import (
    NATSConnectionError,
    NATSError,
    NATSPublishError,
    NATSRequestError,
    NATSSubjectError,
    NATSSubscribeError,
    NATSUnsubscribeError,
    PublishError,
)
from nats_fault_harness.reference.schemas import (
    ChatMessage,
    EventMessage,
    MessageType,
    detect_message_type,
    validate_message,
)
from nats_fault_harness.reference.service import NATSService
from nats_fault_harness.reference.subjects import DEFAULT_PATTERNS, NATSSubjectManager

__all__ = [
    "DEFAULT_PATTERNS",
    "LOGGER_PREFIX",
    "BrokerStats",
    "ChatMessage",
    "ConnectionOptions",
    "ConnectionStats",
    "EventKind",
    "EventMessage",
    "FailedGroup",
    "FlushResult",
    "Handler",
    "IncomingMessage",
    "JetStreamAck",
    "MessageHandler",
    "MessageType",
    "NATSConfig",
    "NATSConnectionError",
    "NATSError",
    "NATSMessageBroker",
    "NATSPublishError",
    "NATSRequestError",
    "NATSService",
    "NATSSubjectError",
    "NATSSubjectManager",
    "NATSSubscribeError",
    "NATSUnsubscribeError",
    "Observer",
    "OutgoingMessage",
    "PoolInitReport",
    "PublishError",
    "RecoveryResult",
    "RetryRecord",
    "ServiceEvent",
    "SubscriptionInfo",
    "detect_message_type",
    "validate_message",
]
