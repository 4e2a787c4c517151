"""The NATS client protocol as frames: an incremental parser, a serializer, subject patterns.

Independent of the proxy (it imports nothing from the harness): the proxy's NATS-aware
toxics use it, and so can tests that need to read or write the protocol.

>>> parser = FrameParser()
>>> [f.verb for f in parser.feed(b"PUB orders.1 2\\r\\nhi\\r\\nPI")]
['PUB']
>>> [f.verb for f in parser.feed(b"NG\\r\\n")]
['PING']
>>> SubjectPattern("orders.*").matches("orders.1")
True
"""

from nats_fault_harness.natsproto._frames import (
    PAYLOAD_VERBS,
    VERB_FAMILIES,
    VERBS,
    Frame,
    ProtocolError,
    verbs_of,
)
from nats_fault_harness.natsproto._parser import (
    MAX_JSON_LINE,
    MAX_LINE,
    MAX_PAYLOAD,
    FrameParser,
    Span,
)
from nats_fault_harness.natsproto._serializer import make_frame, serialize
from nats_fault_harness.natsproto._subjects import SubjectPattern, check_pattern, subject_matches

__all__ = [
    "MAX_JSON_LINE",
    "MAX_LINE",
    "MAX_PAYLOAD",
    "PAYLOAD_VERBS",
    "VERBS",
    "VERB_FAMILIES",
    "Frame",
    "FrameParser",
    "ProtocolError",
    "Span",
    "SubjectPattern",
    "check_pattern",
    "make_frame",
    "serialize",
    "subject_matches",
    "verbs_of",
]
