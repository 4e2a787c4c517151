"""JetStream publishing with a PubAck: exactly once with a message id, at most once without.

A JetStream publish is a request to the stream's subject; the server answers with a
PubAck (stream, sequence, ``duplicate``) once the stream stored the message (in a cluster:
once a quorum of the stream's peers has it). When no PubAck comes, the outcome is
*ambiguous*: the message may be stored and only the ack lost.

The rule this module follows, and why:

- **With a message id** (sent as ``Nats-Msg-Id``) every ambiguous failure is retried with
  the *same* id until ``deadline`` seconds have passed: the server stores one copy per id
  within the stream's ``duplicate_window`` and answers a repeat with ``duplicate: true``
  and the original sequence. Retried errors: a timeout, no responders (the stream has no
  leader yet: an election), 503 (JetStream temporarily unavailable) and err_code 10158
  ("duplicate message id is in process": an isolated leader still holds the earlier
  proposal; it is neither stored nor refused, so giving up would lose the message).
- **Without a message id** a timeout is not retried: the server cannot tell a retry from
  a new message, so a retry after a lost PubAck stores it twice. The error is raised,
  ``ambiguous=True``. Only failures that prove nothing was stored (no responders, 503)
  are retried.

Anything else (a 400 such as "wrong last sequence", a closed connection) is raised at
once. Every error is a :class:`NATSPublishError` with the subject, ``ambiguous`` and the
nats-py error as its cause.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import nats.errors
from nats.js import JetStreamContext
from nats.js.errors import APIError, NoStreamResponseError

from nats_fault_harness.reference.nats_exceptions import NATSPublishError

__all__ = ["JetStreamAck", "publish_with_ack"]

_IN_PROCESS = 10158
"""err_code of "duplicate message id is in process" (an isolated leader's open proposal)."""
_UNAVAILABLE = 503


@dataclass(frozen=True, slots=True)
class JetStreamAck:
    """The server's PubAck for one message.

    Attributes:
        stream: the stream that stored it.
        seq: its sequence in the stream (for a duplicate: the original's).
        duplicate: True when the server had this message id already (a retry's ack).
        attempts: how many times it was sent (1 = no retry).
    """

    stream: str
    seq: int
    duplicate: bool
    attempts: int


_NO_RESPONDERS = (nats.errors.NoRespondersError, NoStreamResponseError)
"""No stream listened on the subject at that moment (nats-py raises the second from
``JetStreamContext.publish``): nothing was stored."""


def _stored_nothing(exc: BaseException) -> bool:
    """The error proves the attempt stored nothing (safe to retry without an id)."""
    if isinstance(exc, _NO_RESPONDERS):
        return True
    return isinstance(exc, APIError) and exc.code == _UNAVAILABLE and exc.err_code != _IN_PROCESS


def _retryable_with_id(exc: BaseException) -> bool:
    if isinstance(exc, (nats.errors.TimeoutError, *_NO_RESPONDERS)):
        return True
    return isinstance(exc, APIError) and (exc.code == _UNAVAILABLE or exc.err_code == _IN_PROCESS)


async def publish_with_ack(
    js: JetStreamContext,
    subject: str,
    data: bytes,
    *,
    msg_id: str | None,
    timeout: float,
    deadline: float,
    base_delay: float,
    on_retry: Callable[[int, BaseException, bool], None] | None = None,
) -> JetStreamAck:
    """Publish to a stream and return its PubAck; see the module docstring for retries.

    Args:
        js: the connection's JetStream context.
        subject: a subject some stream captures.
        data: the payload.
        msg_id: sent as ``Nats-Msg-Id``; ``None`` sends no id (no retry after a timeout).
        timeout: seconds one attempt waits for its PubAck.
        deadline: seconds after which no further attempt starts.
        base_delay: pause before the first retry; doubled per retry, at most 1 s.
        on_retry: called with the attempt number that failed, its error, and whether
            that attempt may have stored the message.

    Raises:
        NATSPublishError: no PubAck; ``ambiguous`` unless no attempt could have stored it.
    """
    headers = {"Nats-Msg-Id": msg_id} if msg_id else None
    loop = asyncio.get_running_loop()
    give_up = loop.time() + deadline
    attempt = 0
    ambiguous = False
    delay = base_delay
    while True:
        attempt += 1
        try:
            ack = await js.publish(subject, data, timeout=timeout, headers=headers)
        except (nats.errors.Error, OSError) as exc:
            nothing = _stored_nothing(exc)
            ambiguous = ambiguous or not nothing
            retry = _retryable_with_id(exc) if msg_id else nothing
            if not retry or loop.time() + delay >= give_up:
                raise NATSPublishError(
                    f"JetStream publish on {subject!r} got no PubAck after {attempt} "
                    f"attempt(s): {type(exc).__name__}: {exc}",
                    subject=subject,
                    cause=exc,
                    ambiguous=ambiguous,
                ) from exc
            if on_retry is not None:
                on_retry(attempt, exc, not nothing)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
            continue
        return JetStreamAck(ack.stream, ack.seq, bool(ack.duplicate), attempt)
