"""What a service under test is: the capability base class and the runner's protocol.

:class:`Service` is the base class a user's adapter derives from: it declares its
``capabilities`` and implements just those methods. :class:`ServiceUnderTest` is the
older all-methods protocol of a client-shaped service (still accepted).
:func:`load_sut` imports a service factory named ``"module:factory"``.
:class:`ProcessService` is a service that is a child process in any language, speaking
the process protocol (``docs/process-protocol.md``); :func:`process`,
:func:`natspy_client` and :func:`natsjs_client` are ``--sut`` factories of it.
"""

from nats_fault_harness.services._presets import (
    CLIENTS_ENV,
    SUT_CMD_ENV,
    natsjs_client,
    natspy_client,
    process,
)
from nats_fault_harness.services._process import ProcessService, probe_hello
from nats_fault_harness.services._procwire import (
    PROTOCOL_VERSION,
    ClientError,
    ProcessCommandError,
    ProcessError,
    ProcessExited,
    ProcessProtocolError,
    ProcessTimeout,
)
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
    "CLIENTS_ENV",
    "HEALTH_TIMING_KEYS",
    "PROTOCOL_VERSION",
    "SUT_CMD_ENV",
    "CapabilityMissing",
    "ClientError",
    "Endpoint",
    "EventSink",
    "FlushOutcome",
    "HealthSut",
    "HealthTimingSut",
    "LoggingSut",
    "MessageHandler",
    "MessagingSut",
    "PoolInit",
    "ProcessCommandError",
    "ProcessError",
    "ProcessExited",
    "ProcessProtocolError",
    "ProcessService",
    "ProcessTimeout",
    "Service",
    "ServiceUnderTest",
    "StatsSut",
    "SutEnv",
    "SutFactory",
    "capabilities_of",
    "load_sut",
    "missing_capabilities",
    "natsjs_client",
    "natspy_client",
    "probe_hello",
    "process",
]
