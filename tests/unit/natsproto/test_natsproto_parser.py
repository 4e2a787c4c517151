"""The frame parser against the serializer: any frames, split anywhere, parse back exactly."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nats_fault_harness.natsproto import (
    MAX_LINE,
    PAYLOAD_VERBS,
    Frame,
    FrameParser,
    ProtocolError,
    make_frame,
    serialize,
)

_TOKEN = st.text("abcxyz019-_$*>é日", min_size=1, max_size=8)
_SUBJECT = st.lists(_TOKEN, min_size=1, max_size=4).map(".".join)
_SID = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6)
_JSON = st.dictionaries(
    st.text("abc", max_size=4),
    st.one_of(st.integers(), st.text('a b\n"é', max_size=8)),
    max_size=4,
).map(lambda d: json.dumps(d))


@st.composite
def frames(draw: st.DrawFn) -> Frame:
    """Any client-protocol frame, built from fields by the serializer."""
    verb = draw(
        st.sampled_from(
            [
                "INFO",
                "CONNECT",
                "PUB",
                "HPUB",
                "SUB",
                "UNSUB",
                "MSG",
                "HMSG",
                "PING",
                "PONG",
                "+OK",
                "-ERR",
            ]
        )
    )
    fields: dict[str, object] = {}
    if verb in ("INFO", "CONNECT"):
        fields["text"] = draw(_JSON)
    elif verb == "-ERR":
        fields["text"] = "'" + draw(st.text("abc XYZ", min_size=1, max_size=20)) + "'"
    elif verb == "SUB":
        fields.update(subject=draw(_SUBJECT), sid=draw(_SID), queue=draw(st.none() | _TOKEN))
    elif verb == "UNSUB":
        fields.update(sid=draw(_SID), max_msgs=draw(st.none() | st.integers(0, 10**6)))
    elif verb in PAYLOAD_VERBS:
        payload = draw(st.binary(max_size=300) | st.sampled_from([b"", b"\r\n", b"PING\r\n"]))
        fields.update(subject=draw(_SUBJECT), reply=draw(st.none() | _SUBJECT), payload=payload)
        if verb in ("MSG", "HMSG"):
            fields["sid"] = draw(_SID)
        if verb in ("HPUB", "HMSG"):
            fields["header_len"] = draw(st.integers(0, len(payload)))
    return make_frame(verb, **fields)  # type: ignore[arg-type]


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=300)
@given(st.lists(frames(), max_size=20), st.lists(st.integers(0, 10**6), max_size=30))
def test_serialized_frames_split_anywhere_parse_back(expected: list[Frame], cuts: list[int]):
    data = b"".join(f.raw for f in expected)
    parser = FrameParser()
    got: list[Frame] = []
    for piece in _split(data, cuts):
        got += parser.feed(piece)
    assert got == expected
    assert parser.remainder == b""
    assert b"".join(f.raw for f in got) == data


@settings(max_examples=200)
@given(st.lists(frames(), max_size=20), st.lists(st.integers(0, 10**6), max_size=30))
def test_spans_cover_the_stream_contiguously(expected: list[Frame], cuts: list[int]):
    data = b"".join(f.raw for f in expected)
    parser = FrameParser()
    raws: list[bytes] = []
    seen: list[tuple[str, str | None]] = []
    for piece in _split(data, cuts):
        buf, spans = parser.feed_spans(piece)
        offset = 0
        for verb, subject, start, end in spans:
            assert start == offset
            offset = end
            raws.append(buf[start:end])
            seen.append((verb, subject))
        if buf:  # b"" when the read only added to an unfinished frame
            assert buf[offset:] == parser.remainder
    assert raws == [f.raw for f in expected]
    assert seen == [(f.verb, f.subject) for f in expected]


@st.composite
def noisy(draw: st.DrawFn) -> tuple[Frame, bytes]:
    """A frame and the same frame with a random verb case and random argument separators."""
    frame = draw(frames())
    line, _, rest = frame.raw.partition(b"\r\n")
    verb, *args = (
        line.split(b" ") if frame.verb not in ("INFO", "CONNECT", "-ERR") else (line.split(b" ", 1))
    )
    verb = bytes(c ^ 0x20 if chr(c).isalpha() and draw(st.booleans()) else c for c in verb)
    seps = st.sampled_from([b" ", b"\t", b"  ", b" \t "])
    out = verb
    for arg in args:
        out += draw(seps) + arg
    out += draw(st.sampled_from([b"", b" ", b"\t"]))
    raw = out + b"\r\n" + rest
    return frame, raw


@settings(max_examples=300)
@given(st.lists(noisy(), max_size=12), st.lists(st.integers(0, 10**6), max_size=20))
def test_verb_case_and_spacing_are_tolerated_and_raw_kept(
    pairs: list[tuple[Frame, bytes]], cuts: list[int]
):
    data = b"".join(raw for _, raw in pairs)
    parser = FrameParser()
    got: list[Frame] = []
    for piece in _split(data, cuts):
        got += parser.feed(piece)
    assert [f.raw for f in got] == [raw for _, raw in pairs]
    for frame, (want, _) in zip(got, pairs, strict=True):
        assert frame.verb == want.verb
        assert (frame.subject, frame.reply, frame.sid, frame.queue) == (
            want.subject,
            want.reply,
            want.sid,
            want.queue,
        )
        assert (frame.max_msgs, frame.header_len, frame.payload, frame.text) == (
            want.max_msgs,
            want.header_len,
            want.payload,
            want.text,
        )


@given(frames())
def test_serialize_is_the_inverse_of_parse(frame: Frame):
    assert serialize(frame) == frame.raw
    assert FrameParser().feed(frame.raw) == [frame]


def test_fields_of_each_verb() -> None:
    wire = (
        b'INFO {"server_id":"S","max_payload":1048576} \r\n'
        b'connect {"name":"a","verbose":false}\r\n'
        b"PUB orders.1 INBOX.1 5\r\nhello\r\n"
        b"HPUB h.1 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n"
        b"SUB chat.> q 7\r\nUNSUB 7 10\r\n"
        b"MSG chat.x 7 reply.to 2\r\nok\r\n"
        b"HMSG chat.y 7 12 14\r\nNATS/1.0\r\n\r\nyo\r\n"
        b"PING\r\nPONG\r\n+OK\r\n-ERR 'Unknown Protocol Operation'\r\n"
    )
    got = FrameParser().feed(wire)
    assert [f.verb for f in got] == [
        "INFO",
        "CONNECT",
        "PUB",
        "HPUB",
        "SUB",
        "UNSUB",
        "MSG",
        "HMSG",
        "PING",
        "PONG",
        "+OK",
        "-ERR",
    ]
    info, connect, pub, hpub, sub, unsub, msg, hmsg, *_, err = got
    assert info.json() == {"server_id": "S", "max_payload": 1048576}
    assert connect.json()["name"] == "a"
    assert (pub.subject, pub.reply, pub.payload) == ("orders.1", "INBOX.1", b"hello")
    assert (hpub.header_len, hpub.headers, hpub.body) == (18, b"NATS/1.0\r\nA: b\r\n\r\n", b"hi")
    assert (sub.subject, sub.queue, sub.sid) == ("chat.>", "q", "7")
    assert (unsub.sid, unsub.max_msgs) == ("7", 10)
    assert (msg.subject, msg.sid, msg.reply, msg.payload) == ("chat.x", "7", "reply.to", b"ok")
    assert (hmsg.sid, hmsg.reply, hmsg.body) == ("7", None, b"yo")
    assert err.text == "'Unknown Protocol Operation'"
    assert b"".join(f.raw for f in got) == wire


def test_an_unfinished_frame_stays_buffered() -> None:
    parser = FrameParser()
    assert parser.feed(b"PUB a 10\r\nhello") == []
    assert parser.remainder == b"PUB a 10\r\nhello"
    assert parser.feed(b"wor") == []
    [frame] = parser.feed(b"ld\r\nPI")
    assert frame.payload == b"helloworld"
    assert parser.remainder == b"PI"


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (b"HTTP/1.1 200 OK\r\n", "unknown verb"),
        (b"GET / HT", "unknown verb"),  # fails before any CRLF
        (b"RS+ $G foo\r\n", "unknown verb"),
        (b"PUB a 5\r\nhelloXX", "not followed by CRLF"),
        (b"PUB a b c 5\r\nhello\r\n", "argument count"),
        (b"PUB a -5\r\n", "bad size"),
        (b"PUB a 1_0\r\n", "bad size"),
        (b"PUB a 99999999999\r\n", "bad size"),
        (b"PUB a 70000000\r\n", "too large"),
        (b"HPUB a 9 5\r\n", "headers exceed"),
        (b"PING x\r\n", "unexpected arguments"),
        (b" PING\r\n", "indented"),
        (b"\r\n", "empty"),
        (b"PUB " + b"a" * MAX_LINE, "longer than"),
    ],
)
def test_protocol_errors(wire: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        FrameParser().feed(wire)


def test_an_error_keeps_the_frames_before_it_and_the_rest() -> None:
    parser = FrameParser()
    with pytest.raises(ProtocolError) as info:
        parser.feed(b"PING\r\nPONG\r\nBOGUS x\r\nPING\r\n")
    assert [f.verb for f in info.value.frames] == ["PING", "PONG"]
    assert parser.broken
    assert parser.remainder == b"BOGUS x\r\nPING\r\n"
    assert parser.feed(b"more") == []
    assert parser.take_remainder() == b"BOGUS x\r\nPING\r\nmore"


def test_span_mode_reports_errors_without_raising() -> None:
    parser = FrameParser()
    buf, spans = parser.feed_spans(b"PING\r\nXYZ\r\n")
    assert [s[0] for s in spans] == ["PING"]
    assert parser.error is not None
    assert parser.remainder == b"XYZ\r\n"
    assert buf[: spans[-1][3]] == b"PING\r\n"


def test_a_large_payload_is_not_reparsed_per_read() -> None:
    parser = FrameParser()
    payload = b"x" * 1_000_000
    wire = b"PUB big 1000000\r\n" + payload + b"\r\n"
    got: list[Frame] = []
    for start in range(0, len(wire), 4096):
        got += parser.feed(wire[start : start + 4096])
    assert [f.payload for f in got] == [payload]


def test_json_of_a_frame_without_json_is_an_error() -> None:
    with pytest.raises(ProtocolError):
        make_frame("PING").json()
    with pytest.raises(ProtocolError):
        make_frame("CONNECT", text="[1]").json()
