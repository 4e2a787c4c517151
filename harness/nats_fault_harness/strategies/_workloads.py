"""Short workloads of one of WORKLOAD_KINDS, and telling them apart."""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import strategies as st

from nats_fault_harness.scenario import Publishes, Requests, Workload
from nats_fault_harness.scenario._base import MAX_RATE, MIN_RATE
from nats_fault_harness.strategies._bounds import _bad, _choices, _int_bound, _seconds
from nats_fault_harness.strategies._kinds import _SUBJECTS, WORKLOAD_KINDS


def workloads(
    *,
    kinds: Iterable[str] = WORKLOAD_KINDS,
    max_messages: int = 40,
    max_requests: int = 8,
    rates: Iterable[float | None] = (None, 200.0, 50.0),
    request_timeout_s: float = 0.25,
) -> st.SearchStrategy[Workload]:
    """A short workload of one of :data:`WORKLOAD_KINDS`.

    Shrinks toward batched publishes (the first kind given, in :data:`WORKLOAD_KINDS`
    order), one batched message (two confirmed ones or requests), and the first of
    ``rates`` (default flat out). Confirmed publishes and requests start at two (unless
    the bound is 1): a fault triggered by the first then still has one to act on, while
    a lone one gives no fault (but one in place before the service connects) a place to
    act (:func:`sure_to_act`).

    Args:
        kinds: workload shapes to draw from.
        max_messages: the most publishes (at least 1 batched, 2 confirmed, unless it is 1).
        max_requests: the most requests (at least 2 are drawn, unless it is 1).
        rates: publish and request rates per second to choose from (``None``: flat out).
        request_timeout_s: each request's timeout.

    Raises:
        ConfigError: a bound is invalid.
    """
    shapes = _choices("kinds", kinds, WORKLOAD_KINDS)
    most = _int_bound("max_messages", max_messages, minimum=1)
    most_requests = _int_bound("max_requests", max_requests, minimum=1)
    if isinstance(rates, str | bytes) or not isinstance(rates, Iterable):
        raise _bad("rates", rates, "a collection of rates per second or None")
    rate_list = list(rates)
    for rate in rate_list:
        if rate is not None and (
            isinstance(rate, bool)
            or not isinstance(rate, int | float)
            or not MIN_RATE <= rate <= MAX_RATE
        ):
            raise _bad("rates", rates, f"rates in [{MIN_RATE}, {MAX_RATE:g}] or None")
    if not rate_list:
        raise _bad("rates", rates, "non-empty")
    timeout = _seconds("request_timeout_s", request_timeout_s)
    rate_st = st.sampled_from([None if r is None else float(r) for r in rate_list])

    def build(shape: str) -> st.SearchStrategy[Workload]:
        if shape == "requests":
            return st.builds(
                lambda n, r: Workload(
                    requests=Requests(count=n, rate_per_s=r, subject="prop.rpc", timeout_s=timeout)
                ),
                st.integers(min(2, most_requests), most_requests),
                rate_st,
            )
        return st.builds(
            lambda n, r: Workload(
                publishes=Publishes(
                    count=n, rate_per_s=r, subjects=_SUBJECTS, batched=shape == "batched"
                )
            ),
            st.integers(1 if shape == "batched" else min(2, most), most),
            rate_st,
        )

    return st.sampled_from(shapes).flatmap(build)


def workload_kind(workload: Workload) -> str:
    """Which of :data:`WORKLOAD_KINDS` ``workload`` is (by what it holds)."""
    if workload.publishes.count:
        return "batched" if workload.publishes.batched else "confirmed"
    return "requests"
