"""The per-link frame stream of the ``nats`` toxic: whatever happens, no byte is changed.

Random frame sequences, joined at a random byte, cut into random reads, with random
"cancellations" (the toxic forwarding what it holds, then continuing): forwarding every
segment exactly as the stream hands it out must reproduce the input byte for byte.
"""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from nats_fault_harness.natsproto import PAYLOAD_VERBS, make_frame
from nats_fault_harness.toxics._nats_stream import FrameStream

_SUBJECT = st.lists(st.text("abc*>", min_size=1, max_size=3), min_size=1, max_size=3).map(".".join)


@st.composite
def wire(draw: st.DrawFn) -> bytes:
    verb = draw(st.sampled_from(["PUB", "HPUB", "MSG", "SUB", "PING", "PONG", "+OK", "INFO"]))
    if verb == "INFO":
        return make_frame(verb, text='{"a":1}').raw
    if verb == "SUB":
        return make_frame(verb, subject=draw(_SUBJECT), sid="1").raw
    if verb not in PAYLOAD_VERBS:
        return make_frame(verb).raw
    payload = draw(
        st.binary(max_size=40)
        | st.sampled_from([b"\r\nPUB x 3\r\n", b"PING\r\n", b"\r\nMSG a 1 99\r\n"])
    )
    fields: dict[str, object] = {"subject": draw(_SUBJECT), "payload": payload}
    if verb == "MSG":
        fields["sid"] = "7"
    if verb == "HPUB":
        fields["header_len"] = draw(st.integers(0, len(payload)))
    return make_frame(verb, **fields).raw  # type: ignore[arg-type]


def _forward(stream: FrameStream, data: bytes) -> bytes:
    out = b""
    for buf, spans in stream.feed(data):
        out += buf[spans[0][2] : spans[-1][3]]
    return out


@settings(max_examples=400)
@given(
    st.lists(wire(), min_size=1, max_size=25),
    st.integers(0, 10**6),
    st.lists(st.integers(0, 10**6), max_size=20),
    st.lists(st.integers(0, 10**6), max_size=4),
    st.booleans(),
    st.binary(max_size=30),
)
def test_forwarding_every_segment_reproduces_the_input(
    frames: list[bytes],
    join: int,
    cuts: list[int],
    cancels: list[int],
    garbage: bool,
    junk: bytes,
) -> None:
    data = b"".join(frames)
    if garbage:  # a link that stops being the client protocol half-way
        middle = len(frames) // 2
        data = b"".join(frames[:middle]) + b"RS+ $G x\r\n" + junk + b"".join(frames[middle:])
    start = join % (len(data) + 1)
    data = data[start:]
    stream = FrameStream()
    if start:
        stream.rejoin()
    points = sorted({c % (len(data) + 1) for c in cuts})
    stops = {c % (len(data) + 1) for c in cancels}
    out = b""
    for a, b in itertools.pairwise([0, *points, len(data)]):
        out += _forward(stream, data[a:b])
        if b in stops:
            out += stream.pending()  # a cancelled toxic forwards what it holds
    out += stream.pending()
    assert out == data


@settings(max_examples=200)
@given(st.lists(wire(), min_size=1, max_size=25), st.lists(st.integers(0, 10**6), max_size=20))
def test_a_stream_seen_from_its_start_parses_every_frame(
    frames: list[bytes], cuts: list[int]
) -> None:
    data = b"".join(frames)
    stream = FrameStream()
    raws: list[bytes] = []
    points = sorted({c % (len(data) + 1) for c in cuts})
    for a, b in itertools.pairwise([0, *points, len(data)]):
        for buf, spans in stream.feed(data[a:b]):
            raws += [buf[s:e] for verb, _, s, e in spans if verb]
    assert raws == frames
    assert stream.mode == "parse"
    assert stream.notes == []
