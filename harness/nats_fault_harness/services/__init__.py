"""What a service under test is: the capability base class and the runner's protocol.

:class:`Service` is the base class a user's adapter derives from: it declares its
``capabilities`` and implements just those methods. :class:`ServiceUnderTest` is the
older all-methods protocol of a client-shaped service (still accepted).
:func:`load_sut` imports a service factory named ``"module:factory"``.
"""

from nats_fault_harness.services._protocol import (
    HEALTH_TIMING_KEYS,
    EventSink,
    FlushOutcome,
    HealthSut,
    HealthTimingSut,
    LoggingSut,
    MessageHandler,
    MessagingSut,
    PoolInit,
    ServiceUnderTest,
    StatsSut,
    SutEnv,
    SutFactory,
    load_sut,
)
from nats_fault_harness.services._service import (
    CAPABILITIES,
    CapabilityMissing,
    Endpoint,
    Service,
    capabilities_of,
    missing_capabilities,
)

__all__ = [
    "CAPABILITIES",
    "HEALTH_TIMING_KEYS",
    "CapabilityMissing",
    "Endpoint",
    "EventSink",
    "FlushOutcome",
    "HealthSut",
    "HealthTimingSut",
    "LoggingSut",
    "MessageHandler",
    "MessagingSut",
    "PoolInit",
    "Service",
    "ServiceUnderTest",
    "StatsSut",
    "SutEnv",
    "SutFactory",
    "capabilities_of",
    "load_sut",
    "missing_capabilities",
]
