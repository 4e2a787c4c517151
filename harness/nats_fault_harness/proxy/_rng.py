"""Seeded randomness (extension): same seed and same traffic, same draws.

Toxiproxy's ``-seed`` flag is a no-op. Here every random draw comes from a
:class:`random.Random` derived from the server seed and a path of names, e.g.
``(proxy, connection index, stream, toxic, "roll")``. Deriving per path (instead of sharing
one stream) makes a connection's draws independent of how its traffic interleaves with other
connections. Without ``--seed`` a random seed is chosen and reported by ``GET /extensions``,
so any run can be replayed.
"""

from __future__ import annotations

import random
import secrets

__all__ = ["SeedSource"]


class SeedSource:
    """Derives independent, reproducible random generators from one seed.

    Args:
        seed: the server seed; ``None`` picks a random 63-bit one.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.explicit = seed is not None
        self.seed = seed if seed is not None else secrets.randbits(63)

    def derive(self, *path: object) -> random.Random:
        """A generator for ``path``; the same seed and path give the same sequence."""
        key = "\x1f".join([str(self.seed), *(str(part) for part in path)])
        return random.Random(key)
