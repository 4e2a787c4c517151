"""The ``nats`` toxic's ``pipe`` driven through an in-memory ToxicIO: frames, counts, actions.

Frames are fed split at awkward byte boundaries; the output must be the input with exactly
the selected frames changed, and every byte accounted for across cancellation and restart.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from nats_fault_harness.natsproto import make_frame
from nats_fault_harness.toxics import Chunk, InvalidAttribute, Nats


class FrameIO:
    """A ToxicIO with an input queue, a list of emitted chunks and the reported effects."""

    def __init__(
        self,
        toxic: Nats,
        *,
        seed: int = 0,
        state: Any = None,
        shared: Any = None,
        joined_mid_stream: bool = False,
    ) -> None:
        self.toxic = toxic
        self.rng = random.Random(seed)
        self.state = state if state is not None else toxic.new_state()
        self.shared = shared if shared is not None else toxic.new_shared_state()
        self.joined_mid_stream = joined_mid_stream
        self.inbox: asyncio.Queue[Chunk] = asyncio.Queue()
        self.out: list[Chunk] = []
        self.out_times: list[float] = []
        self.effects: list[tuple[str, dict[str, object]]] = []
        self.closed = False
        self.loop = asyncio.get_running_loop()

    async def get(self) -> Chunk:
        return await self.inbox.get()

    def emit(self, chunk: Chunk) -> None:
        self.out.append(chunk)
        self.out_times.append(self.loop.time())

    def close(self) -> None:
        self.closed = True
        self.emit(Chunk.end(self.loop.time(), forced=True))

    def reset(self) -> None:  # pragma: no cover - not used by this toxic
        raise AssertionError("nats toxic never resets")

    def fired(self, effect: str, **fields: object) -> None:
        self.effects.append((effect, fields))

    def report(self, effect: str, **fields: object) -> None:
        self.effects.append((effect, fields))

    def now(self) -> float:
        return self.loop.time()

    async def sleep_until(self, deadline: float) -> None:
        delay = deadline - self.loop.time()
        if delay > 0:
            await asyncio.sleep(delay)

    def feed(self, data: bytes, *, piece: int = 0, eof: bool = False) -> None:
        """Queue ``data`` as chunks of ``piece`` bytes (0: one chunk)."""
        size = piece or len(data) or 1
        for start in range(0, len(data), size):
            self.inbox.put_nowait(Chunk(data[start : start + size], self.loop.time()))
        if eof:
            self.inbox.put_nowait(Chunk.end(self.loop.time()))

    def data(self) -> bytes:
        return b"".join(c.data for c in self.out if not c.eof)

    def names(self) -> list[str]:
        return [effect for effect, _ in self.effects]


def nats(**attributes: object) -> Nats:
    return Nats.from_attributes(attributes)


def pub(subject: str, payload: bytes = b"x") -> bytes:
    return make_frame("PUB", subject=subject, payload=payload).raw


def msg(subject: str, payload: bytes = b"m") -> bytes:
    return make_frame("MSG", subject=subject, sid="1", payload=payload).raw


async def run_until_eof(io: FrameIO, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        await io.toxic.pipe(io)


async def run_then_cancel(io: FrameIO, *, after: float = 0.05) -> None:
    task = asyncio.create_task(io.toxic.pipe(io))
    await asyncio.sleep(after)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


PUBS = [pub(f"orders.{i}", b"payload %d\r\nwith CRLF" % i) for i in range(1, 7)]


# ---------------------------------------------------------------- selection and actions


@pytest.mark.asyncio
@pytest.mark.parametrize("piece", [0, 1, 7, 64])
async def test_drop_the_third_pub_to_orders_star(piece: int) -> None:
    io = FrameIO(nats(verb="PUB", subject="orders.*", action="drop", nth=3))
    stream = b"PING\r\n" + pub("other.1") + b"".join(PUBS) + b"PONG\r\n"
    io.feed(stream, piece=piece, eof=True)
    await run_until_eof(io)
    assert io.data() == stream.replace(PUBS[2], b"")
    assert io.effects == [
        ("drop", {"verb": "PUB", "subject": "orders.3", "count": 3, "action": "drop"})
    ]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("selector", "dropped"),
    [
        ({"every": 2}, [2, 4, 6]),
        ({"first": 2}, [1, 2]),
        ({"after": 4}, [5, 6]),
        ({}, [1, 2, 3, 4, 5, 6]),
    ],
)
async def test_count_selectors(selector: dict[str, int], dropped: list[int]) -> None:
    io = FrameIO(nats(verb="pub", subject="orders.>", action="drop", **selector))
    io.feed(b"".join(PUBS), piece=5, eof=True)
    await run_until_eof(io)
    assert io.data() == b"".join(p for i, p in enumerate(PUBS, 1) if i not in dropped)
    assert [fields["count"] for _, fields in io.effects] == dropped


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("verb", "dropped"),
    [("PUB*", ["PUB", "HPUB"]), ("pub*", ["PUB", "HPUB"]), ("PUB", ["PUB"]), ("HPUB", ["HPUB"])],
)
async def test_the_pub_family_matches_pub_and_hpub(verb: str, dropped: list[str]) -> None:
    plain = pub("orders.1")
    head = b"NATS/1.0\r\nNats-Msg-Id: 2\r\n\r\n"
    headed = make_frame("HPUB", subject="orders.2", header_len=len(head), payload=head + b"x").raw
    msg = make_frame("MSG", subject="orders.3", sid="1", payload=b"y").raw
    io = FrameIO(nats(verb=verb, subject="orders.>", action="drop"))
    io.feed(plain + headed + msg, piece=3, eof=True)
    await run_until_eof(io)
    assert [fields["verb"] for _, fields in io.effects] == dropped
    kept = {"PUB": plain, "HPUB": headed}
    assert io.data() == b"".join(raw for v, raw in kept.items() if v not in dropped) + msg


def test_a_family_is_a_valid_verb_and_an_unknown_one_is_not() -> None:
    assert nats(verb="msg*", action="drop").verb == "MSG*"
    with pytest.raises(InvalidAttribute, match=r"a family \(PUB\*, MSG\*\)"):
        Nats.from_attributes({"verb": "SUB*", "action": "drop"})


@pytest.mark.asyncio
async def test_verbs_and_subjects_that_do_not_match_pass_byte_for_byte() -> None:
    stream = (
        b"sub chat.> 1\r\n"
        + msg("chat.a")
        + pub("chat.a")
        + b"ping\r\n"
        + make_frame(
            "HMSG", subject="chat.b", sid="1", header_len=12, payload=b"NATS/1.0\r\n\r\nhi"
        ).raw
    )
    io = FrameIO(nats(verb="MSG", subject="nomatch.>", action="drop"))
    io.feed(stream, piece=3, eof=True)
    await run_until_eof(io)
    assert io.data() == stream
    assert io.effects == []


@pytest.mark.asyncio
async def test_frames_without_subject_match_only_the_any_pattern() -> None:
    io = FrameIO(nats(verb="*", action="drop"))  # subject defaults to ">"
    io.feed(b"PING\r\n" + pub("a") + b"+OK\r\n", eof=True)
    await run_until_eof(io)
    assert io.data() == b""
    io = FrameIO(nats(verb="*", subject="a", action="drop"))
    io.feed(b"PING\r\n" + pub("a") + b"+OK\r\n", eof=True)
    await run_until_eof(io)
    assert io.data() == b"PING\r\n+OK\r\n"


@pytest.mark.asyncio
async def test_duplicate_each_msg_on_chat() -> None:
    frames = [msg("chat.room.1"), msg("other"), msg("chat.x", b"")]
    io = FrameIO(nats(verb="MSG", subject="chat.>", action="duplicate"))
    io.feed(b"".join(frames), piece=4, eof=True)
    await run_until_eof(io)
    assert io.data() == frames[0] * 2 + frames[1] + frames[2] * 2


@pytest.mark.asyncio
async def test_probability_is_seeded() -> None:
    async def run(seed: int) -> list[object]:
        io = FrameIO(nats(verb="PUB", action="drop", probability=0.5), seed=seed)
        io.feed(b"".join(pub("s") for _ in range(64)), eof=True)
        await run_until_eof(io)
        return [fields["count"] for _, fields in io.effects]

    first, again, other = await run(1), await run(1), await run(2)
    assert first == again
    assert first != other
    assert 10 <= len(first) <= 54


@pytest.mark.asyncio
async def test_the_count_is_shared_by_the_links_of_a_stream() -> None:
    toxic = nats(verb="PUB", action="drop", nth=3)
    shared = toxic.new_shared_state()
    one, two = FrameIO(toxic, shared=shared), FrameIO(toxic, shared=shared)
    one.feed(pub("a") + pub("b"), eof=True)
    await run_until_eof(one)
    two.feed(pub("c") + pub("d"), eof=True)
    await run_until_eof(two)
    assert one.data() == pub("a") + pub("b")
    assert two.data() == pub("d")


@pytest.mark.asyncio
async def test_delay_keeps_stream_order_and_measures_from_arrival() -> None:
    io = FrameIO(nats(verb="PONG", action="delay", delay=200))
    start = io.loop.time()
    io.feed(b"PONG\r\n" + msg("a") + b"PONG\r\n", eof=True)
    await run_until_eof(io)
    assert io.data() == b"PONG\r\n" + msg("a") + b"PONG\r\n"
    # Everything waits behind the first PONG; the second one is due at the same time.
    assert all(0.18 <= t - start <= 0.35 for t in io.out_times), io.out_times


@pytest.mark.asyncio
async def test_hold_lets_other_frames_overtake_and_releases_on_cancel() -> None:
    io = FrameIO(nats(verb="PONG", action="hold"))
    io.feed(b"PONG\r\n" + msg("a") + b"PONG\r\n" + msg("b") + b"PI")
    await run_then_cancel(io)
    # While held: only the MSGs; on cancel: the held PONGs in order, then the partial PING.
    assert io.data() == msg("a") + msg("b") + b"PONG\r\nPONG\r\nPI"
    assert io.names() == ["hold", "hold"]


@pytest.mark.asyncio
async def test_hold_with_delay_releases_each_frame_after_its_delay() -> None:
    io = FrameIO(nats(verb="PONG", action="hold", delay=150))
    start = io.loop.time()
    io.feed(b"PONG\r\n" + msg("a"))
    task = asyncio.create_task(io.toxic.pipe(io))
    await asyncio.sleep(0.05)
    assert io.data() == msg("a")
    await asyncio.sleep(0.25)
    assert io.data() == msg("a") + b"PONG\r\n"
    assert 0.14 <= io.out_times[-1] - start <= 0.3
    io.feed(b"", eof=True)
    async with asyncio.timeout(5):
        await task


@pytest.mark.asyncio
async def test_held_frames_are_released_on_time_while_reads_keep_coming() -> None:
    io = FrameIO(nats(verb="PONG", action="hold", delay=1))
    io.feed(b"PONG\r\n")
    for _ in range(5000):  # a backlog: the input queue never runs empty
        io.feed(msg("a"))
    io.feed(b"", eof=True)
    await run_until_eof(io)
    order = [c.data for c in io.out if not c.eof]
    released = order.index(b"PONG\r\n")
    assert released < len(order) - 100, (released, len(order))  # not only at the end


@pytest.mark.asyncio
async def test_eof_releases_held_frames_and_the_unfinished_frame() -> None:
    io = FrameIO(nats(verb="PING", action="hold"))
    io.feed(b"PING\r\nPONG\r\nPUB a 10\r\nabc", eof=True)
    await run_until_eof(io)
    assert io.data() == b"PONG\r\nPING\r\nPUB a 10\r\nabc"
    assert io.out[-1].eof


@pytest.mark.asyncio
async def test_close_drops_the_frame_and_closes() -> None:
    io = FrameIO(nats(verb="CONNECT", action="close"))
    io.feed(b'CONNECT {"name":"n1"}\r\nPING\r\n')
    await run_until_eof(io)
    assert io.closed
    assert io.data() == b""
    assert io.names() == ["close"]


# ---------------------------------------------------------------- robustness


@pytest.mark.asyncio
async def test_an_unparseable_stream_passes_untouched_and_is_reported() -> None:
    stream = pub("a") + b"RS+ $G foo\r\nRMSG $G foo 2\r\nhi\r\n" + pub("b")
    io = FrameIO(nats(verb="*", action="drop"))
    io.feed(stream, piece=9, eof=True)
    await run_until_eof(io)
    assert io.data() == stream[len(pub("a")) :]  # the first PUB was dropped, then raw
    assert io.names() == ["drop", "protocol_error"]


@pytest.mark.asyncio
async def test_binary_garbage_is_given_up_at_once_not_buffered() -> None:
    io = FrameIO(nats(verb="*", action="drop"))
    io.feed(b"\x16\x03\x01\x02\x00")  # a TLS ClientHello start, no CRLF ever
    task = asyncio.create_task(io.toxic.pipe(io))
    await asyncio.sleep(0.05)
    assert io.data() == b"\x16\x03\x01\x02\x00"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.asyncio
@pytest.mark.parametrize("cut", [0, 3, 11, 17])
async def test_joining_mid_stream_resyncs_at_the_next_frame(cut: int) -> None:
    stream = b"".join(PUBS)
    io = FrameIO(nats(verb="PUB", subject="orders.5", action="drop"), joined_mid_stream=True)
    io.feed(stream[cut:], piece=6, eof=True)
    await run_until_eof(io)
    assert io.data() == stream[cut:].replace(PUBS[4], b"")


@pytest.mark.asyncio
async def test_payload_that_looks_like_frames_after_a_join_is_survived() -> None:
    tricky = pub("x", b"\r\nPUB fake 99\r\nzz")  # the join lands inside this payload
    tail = b"".join(pub(f"tail.{i}") for i in range(10))  # the fake frame needs 99 bytes
    stream = tricky + pub("orders.1") + pub("orders.2") + tail
    io = FrameIO(nats(verb="PUB", subject="orders.2", action="drop"), joined_mid_stream=True)
    io.feed(stream[10:], eof=True)
    await run_until_eof(io)
    assert io.data() == stream[10:].replace(pub("orders.2"), b"")


@pytest.mark.asyncio
async def test_restart_mid_frame_loses_and_duplicates_nothing() -> None:
    toxic = nats(verb="PUB", subject="a", action="drop")
    first = FrameIO(toxic)
    first.feed(pub("a") + pub("b", b"0123456789")[:9])
    await run_then_cancel(first)
    assert first.data() == pub("b", b"0123456789")[:9]  # forwarded on cancel
    # The same link state, restarted (an update): the frame continues, untouched.
    second = FrameIO(toxic, state=first.state, shared=first.shared)
    second.feed(pub("b", b"0123456789")[9:] + pub("a") + pub("c"), eof=True)
    await run_until_eof(second)
    assert second.data() == pub("b", b"0123456789")[9:] + pub("c")


# ---------------------------------------------------------------- attributes


def test_defaults_and_normalisation() -> None:
    toxic = nats(verb="pub", action="DROP")
    assert toxic.attributes() == {
        "verb": "PUB",
        "subject": ">",
        "action": "drop",
        "delay": 0,
        "nth": 0,
        "every": 0,
        "first": 0,
        "after": 0,
        "probability": 1.0,
        "reply": "",
        "header": "",
        "header_value": "",
        "min_bytes": 0,
        "max_bytes": 0,
    }


@pytest.mark.parametrize(
    ("attributes", "where", "words"),
    [
        ({"action": "drop", "verb": "PUBLISH"}, "verb", "must be one of"),
        ({"action": "explode"}, "action", "must be one of"),
        ({}, "action", "must be one of"),
        ({"action": "drop", "subject": "a..b"}, "subject", "must be a NATS subject"),
        ({"action": "drop", "subject": "a.>.b"}, "subject", "must be a NATS subject"),
        ({"action": "drop", "nth": 2, "every": 3}, "every", "cannot be combined with nth"),
        ({"action": "drop", "first": 1, "after": 1}, "after", "cannot be combined"),
        ({"action": "drop", "nth": -1}, "nth", ">= 0"),
        ({"action": "delay", "delay": -5}, "delay", ">= 0"),
        ({"action": "drop", "probability": 1.5}, "probability", "between 0 and 1"),
        ({"action": "drop", "probability": "half"}, "probability", "of type float64"),
        ({"action": 3}, "action", "of type string"),
        ({"action": "drop", "reply": "a..b"}, "reply", "must be a NATS subject"),
        ({"action": "drop", "header": "Nats Msg"}, "header", "must be a header name"),
        ({"action": "drop", "header": "a:b"}, "header", "must be a header name"),
        ({"action": "drop", "header_value": "x"}, "header_value", "needs header"),
        ({"action": "drop", "min_bytes": 9, "max_bytes": 3}, "min_bytes", "must not exceed"),
        ({"action": "drop", "max_bytes": -1}, "max_bytes", ">= 0"),
    ],
)
def test_invalid_attributes_name_the_attribute_and_value(
    attributes: dict[str, object], where: str, words: str
) -> None:
    with pytest.raises(InvalidAttribute, match=words) as info:
        Nats.from_attributes(attributes)
    assert info.value.where == f"attributes.{where}"
    assert where in str(info.value)


def test_update_merges_over_the_base() -> None:
    base = nats(verb="PONG", action="hold", delay=2000)
    updated = Nats.from_attributes({"delay": 0}, base)
    assert (updated.verb, updated.action, updated.delay) == ("PONG", "hold", 0)


# ---------------------------------------------------------------- what identifies a message


def _hmsg(subject: str, reply: str | None, headers: bytes, body: bytes = b"b") -> bytes:
    block = b"NATS/1.0\r\n" + headers + b"\r\n"
    return make_frame(
        "HMSG", subject=subject, sid="9", reply=reply, header_len=len(block), payload=block + body
    ).raw


def _deliveries() -> list[bytes]:
    """JetStream deliveries of ORDERS to two consumers, first and second deliveries."""
    out = []
    for consumer in ("billing", "audit"):
        for delivered, seq in ((1, 1), (1, 2), (2, 1)):
            reply = f"$JS.ACK.ORDERS.{consumer}.{delivered}.{seq}.{seq}.1700000000.0"
            out.append(_hmsg("orders.new", reply, b"Nats-Msg-Id: o-%d\r\n" % seq))
    return out


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("reply", "dropped"),
    [
        ("$JS.ACK.ORDERS.billing.1.>", [0, 1]),  # first deliveries to billing only
        ("$JS.ACK.ORDERS.*.2.>", [2, 5]),  # every redelivery
        ("$JS.ACK.ORDERS.audit.>", [3, 4, 5]),
        ("_INBOX.>", []),
    ],
)
async def test_reply_picks_deliveries_by_consumer_and_delivery_count(
    reply: str, dropped: list[int]
) -> None:
    frames = _deliveries()
    io = FrameIO(nats(verb="MSG*", subject="orders.>", action="drop", reply=reply))
    io.feed(b"".join(frames), piece=5, eof=True)
    await run_until_eof(io)
    assert len(io.effects) == len(dropped)
    assert io.data() == b"".join(f for i, f in enumerate(frames) if i not in dropped)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("verb", "wire"),
    [
        ("PUB", make_frame("PUB", subject="a", reply="_INBOX.x.1", payload=b"p").raw),
        ("MSG", make_frame("MSG", subject="a", sid="3", reply="_INBOX.x.1", payload=b"p").raw),
    ],
)
async def test_reply_is_read_from_every_verb_shape(verb: str, wire: bytes) -> None:
    no_reply = make_frame(verb, subject="a", sid="3" if verb == "MSG" else None, payload=b"q").raw
    io = FrameIO(nats(verb=verb, subject="a", action="drop", reply="_INBOX.x.*"))
    io.feed(no_reply + wire + no_reply, eof=True)
    await run_until_eof(io)
    assert len(io.effects) == 1
    assert io.data() == no_reply + no_reply


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("attrs", "dropped"),
    [
        ({"header": "Nats-Msg-Id"}, [1, 2]),
        ({"header": "nats-msg-id", "header_value": "o-2"}, [2]),
        ({"header": "Other"}, []),
        ({"min_bytes": 60}, [3]),  # payloads: 2, 31, 31 (headers included) and 100 bytes
        ({"max_bytes": 2}, [0]),
        ({"min_bytes": 31, "max_bytes": 31}, [1, 2]),
    ],
)
async def test_headers_and_size_pick_publishes(
    attrs: dict[str, object], dropped: list[int]
) -> None:
    def hpub(value: bytes) -> bytes:
        block = b"NATS/1.0\r\nNats-Msg-Id: " + value + b"\r\n\r\n"
        return make_frame("HPUB", subject="o.x", header_len=len(block), payload=block + b"x").raw

    frames = [pub("o.a", b"ab"), hpub(b"o-1"), hpub(b"o-2"), pub("o.b", b"a" * 100)]
    io = FrameIO(nats(verb="PUB*", subject="o.>", action="drop", **attrs))
    io.feed(b"".join(frames), piece=4, eof=True)
    await run_until_eof(io)
    assert io.data() == b"".join(f for i, f in enumerate(frames) if i not in dropped)
    assert len(io.effects) == len(dropped)
