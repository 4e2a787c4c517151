"""``service`` overrides: each key optional, shrinking toward the service's default."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hypothesis import strategies as st

from nats_fault_harness.strategies._bounds import _bad, _int_bound


def service_configs(
    *,
    max_batch_size: int = 50,
    max_batch_retries: int = 3,
    pool_sizes: Iterable[int] = (1, 2),
) -> st.SearchStrategy[dict[str, Any]]:
    """``service`` overrides for the reference service (or any service with these keys).

    Each key is optional and shrinks toward absent (the service's default), so the
    shrunk scenario shows only the settings the failure needs. ``batch_size`` shrinks
    toward ``max_batch_size`` (fewer background flushes), ``max_batch_retries`` toward 0.

    Raises:
        ConfigError: a bound is invalid.
    """
    batch = _int_bound("max_batch_size", max_batch_size, minimum=1)
    retries = _int_bound("max_batch_retries", max_batch_retries)
    if not isinstance(pool_sizes, Iterable):
        raise _bad("pool_sizes", pool_sizes, "a collection of ints >= 1")
    sizes = list(pool_sizes)
    for size in sizes:
        _int_bound("pool_sizes", size, minimum=1)
    if not sizes:
        raise _bad("pool_sizes", pool_sizes, "non-empty")
    return st.fixed_dictionaries(
        {},
        optional={
            "batch_size": st.integers(0, batch - 1).map(lambda k: batch - k),
            "max_batch_retries": st.integers(0, retries),
            "pool_size": st.sampled_from(sizes),
        },
    )
