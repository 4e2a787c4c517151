"""Every mutant: its factory, the claims of ``scenarios/claims.yaml`` it breaks, its defect.

``first`` names the scenarios most likely to kill it; the killing run tries them before
the other scenarios that verify one of its claims, and stops at the first kill.

The entries below are the original set. A mutant module may also carry its own entries as
a module-level ``CATALOG`` tuple (see :func:`_collected`), so a new family of mutants is one
new file: its factories and their entries side by side.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from tests.mutants._mutant import Mutant

__all__ = ["MUTANTS", "Mutant", "by_name"]


_TYPED = "fix.typed-errors"
_REQUEST = ("fix.typed-errors.request", _TYPED)

_LISTED: tuple[Mutant, ...] = (
    # fix.async-helpers
    Mutant(
        "blocking_health_probe",
        "blocking",
        ("fix.async-helpers",),
        "health check probes each server with a blocking socket connect and read",
        ("loop-lag-under-faults",),
    ),
    Mutant(
        "blocking_retry_sleep",
        "blocking",
        ("fix.async-helpers",),
        "batch retries wait their 100/200/400 ms with time.sleep",
        ("loop-lag-during-batch-retries",),
    ),
    # fix.typed-errors
    Mutant(
        "unsubscribe_returns_false",
        "errors",
        ("fix.typed-errors.unsubscribe", _TYPED),
        "unsubscribe() catches NATSUnsubscribeError and returns False",
        ("unsubscribe-after-connection-closed",),
    ),
    Mutant(
        "request_returns_none",
        "errors",
        _REQUEST,
        "request() returns None when no reply comes",
        ("request-during-blackhole",),
    ),
    Mutant(
        "request_none_on_no_responders",
        "errors",
        _REQUEST,
        "request() raises on a timeout but returns None when nobody subscribes",
        ("request-during-cluster-partition", "request-during-lame-duck"),
    ),
    Mutant(
        "request_raises_generic",
        "errors",
        _REQUEST,
        "request() raises a bare Exception instead of NATSRequestError",
        ("request-no-responder",),
    ),
    Mutant(
        "request_error_without_timeout",
        "errors",
        _REQUEST,
        "request() raises a NATSRequestError that carries no timeout",
        ("request-no-responder",),
    ),
    Mutant(
        "request_error_without_cause",
        "errors",
        _REQUEST,
        "request() raises NATSRequestError with the nats-py cause dropped (from None)",
        ("request-during-server-kill",),
    ),
    Mutant(
        "publish_raises_generic",
        "errors",
        (_TYPED,),
        "publish() raises ConnectionError instead of NATSPublishError",
        ("publish-server-kill-restart",),
    ),
    # fix.broker-validation, config.message-validation
    Mutant(
        "no_broker_validation",
        "validation",
        (
            "fix.broker-validation",
            "fix.broker-validation.outgoing",
            "fix.broker-validation.incoming",
        ),
        "the broker validates nothing, either way",
        ("broker-validation-both-ways",),
    ),
    Mutant(
        "validation_outgoing_only",
        "validation",
        ("fix.broker-validation", "fix.broker-validation.incoming"),
        "outgoing messages are validated, incoming ones reach the handler unchecked",
        ("broker-validation-both-ways",),
    ),
    Mutant(
        "validation_incoming_only",
        "validation",
        ("fix.broker-validation", "fix.broker-validation.outgoing"),
        "incoming messages are validated, outgoing ones are published unchecked",
        ("broker-validation-both-ways",),
    ),
    Mutant(
        "validation_error_unnamed_field",
        "validation",
        ("fix.broker-validation.outgoing",),
        "an invalid outgoing message raises a PublishError that does not name the field",
        ("broker-validation-both-ways",),
    ),
    Mutant(
        "validation_no_autodetect",
        "validation",
        ("fix.broker-validation.autodetect",),
        "every message is validated against the chat schema, events included",
        ("broker-validation-both-ways",),
    ),
    Mutant(
        "validation_ignores_config",
        "validation",
        ("config.message-validation",),
        "validation stays on when enable_message_validation is false",
        ("broker-validation-disabled",),
    ),
    # fix.partial-flush and the delivery guarantee
    Mutant(
        "flush_drops_whole_batch",
        "batching",
        ("fix.partial-flush",),
        "the first failed group ends the flush; it and the groups after it are dropped",
        ("batch-reset-mid-batch",),
    ),
    Mutant(
        "trusting_flush",
        "delivery",
        ("fix.partial-flush", "fix.failed-batch-queue", _TYPED),
        "a group or publish counts as confirmed once nc.flush() returns",
        ("batch-reconnect-gives-up", "batch-limit-data"),
    ),
    # fix.retry-backoff, config.max-batch-retries
    Mutant(
        "retry_without_backoff",
        "batching",
        ("fix.retry-backoff",),
        "failed groups are retried at once (the nominal delays are still reported)",
        ("batch-blackhole-recover",),
    ),
    Mutant(
        "retry_constant_delay",
        "batching",
        ("fix.retry-backoff",),
        "retries wait the base delay every time: 100, 100, 100 ms",
        ("batch-blackhole-recover",),
    ),
    Mutant(
        "retries_beyond_max",
        "batching",
        ("config.max-batch-retries",),
        "a group is retried max_batch_retries + 1 times",
        ("batch-max-retries-1",),
    ),
    Mutant(
        "retries_ignore_config",
        "batching",
        ("config.max-batch-retries",),
        "always 3 retries at 100/200/400 ms, whatever max_batch_retries says",
        ("batch-max-retries-1",),
    ),
    # fix.failed-batch-queue, fix.recover-failed-batches
    Mutant(
        "failed_queue_keeps_last",
        "batching",
        ("fix.failed-batch-queue",),
        "the failed batch queue forgets: each queued group replaces the previous ones",
        ("batch-metrics-queue-and-recover",),
    ),
    Mutant(
        "failed_queue_forgets_quietly",
        "batching",
        ("fix.failed-batch-queue",),
        "the queue keeps only the last group; a separate counter keeps the stats consistent",
        ("batch-metrics-queue-and-recover",),
    ),
    Mutant(
        "recover_drops_refailed",
        "batching",
        ("fix.recover-failed-batches",),
        "recover_failed_batches() drops the groups that fail again",
        ("batch-recover-while-down",),
    ),
    # fix.pool-partial-init, pool.*
    Mutant(
        "pool_ignores_failed_members",
        "pool",
        ("fix.pool-partial-init",),
        "pool initialization keeps the members that connected and reports no failure",
        ("pool-member-1-down",),
    ),
    Mutant(
        "pool_failures_without_reason",
        "pool",
        ("fix.pool-partial-init",),
        "pool initialization names the members that failed but not their errors",
        ("pool-member-1-down",),
    ),
    Mutant(
        "pool_disabled_on_partial",
        "pool",
        ("pool.partial",),
        "one member failing disables the pool (fallback to the main connection)",
        ("pool-member-1-down",),
    ),
    Mutant(
        "pool_none_reported_enabled",
        "pool",
        ("pool.none",),
        "with every member down the pool is still reported enabled, no fallback",
        ("pool-all-members-down",),
    ),
    Mutant(
        "pool_one_member_short",
        "pool",
        ("pool.full",),
        "the main connection is counted as member 0: one member is never opened",
        ("pool-full",),
    ),
    # metrics.*
    Mutant(
        "metrics_queue_counts_groups",
        "metrics",
        ("metrics.failed-batch-queue-size",),
        "failed_batch_queue_size counts queued groups, not messages",
        ("batch-metrics-queue-and-recover",),
    ),
    Mutant(
        "metrics_recovered_as_flush_success",
        "metrics",
        ("metrics.batch-flush",),
        "messages published by a recovery are counted as flush successes too",
        ("batch-metrics-queue-and-recover",),
    ),
    Mutant(
        "metrics_pool_init_configured",
        "metrics",
        ("metrics.pool-init",),
        "pool_init_successes reports the configured pool size, not the members up",
        ("pool-member-1-down",),
    ),
    Mutant(
        "metrics_batch_size_counts_failed",
        "metrics",
        ("metrics.current-batch-size",),
        "current_batch_size is accepted minus published: failed messages stay in it",
        ("batch-metrics-queue-and-recover",),
    ),
)


def _collected() -> tuple[Mutant, ...]:
    """The ``CATALOG`` entries of every module of this package, in module-name order."""
    found: list[Mutant] = []
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name):
        if info.name.startswith("_") or info.name in ("catalog", "table", "test_mutants"):
            continue
        module = importlib.import_module(f"{__package__}.{info.name}")
        entries = getattr(module, "CATALOG", ())
        for entry in entries:
            if not isinstance(entry, Mutant) or entry.module != info.name:
                raise TypeError(
                    f"tests/mutants/{info.name}.py: CATALOG entry {entry!r} is not "
                    f"a Mutant of module {info.name!r}"
                )
        found.extend(entries)
    return tuple(found)


MUTANTS: tuple[Mutant, ...] = (*_LISTED, *_collected())
_names = [m.name for m in MUTANTS]
if len(set(_names)) != len(_names):
    raise ValueError(
        f"duplicate mutant names: {sorted({n for n in _names if _names.count(n) > 1})}"
    )


def by_name(name: str) -> Mutant:
    """The mutant called ``name``."""
    for mutant in MUTANTS:
        if mutant.name == name:
            return mutant
    raise KeyError(name)
