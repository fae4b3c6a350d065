"""Named random streams: each part of the city draws from its own seed.

Deriving every generator from ``(seed, name, index)`` keeps a change in one
part (an extra incident) from shifting the dice of every other part, and
avoids ``hash()``, which is salted per process for strings.
"""

from __future__ import annotations

import random
import zlib

import numpy as np


def _key(name: str) -> int:
    return zlib.crc32(name.encode())


def np_rng(seed: int, name: str, *index: int) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFF, _key(name), *index])


def py_rng(seed: int, name: str, *index: int) -> random.Random:
    return random.Random(f"{seed}:{name}:{':'.join(map(str, index))}")


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw from a ``random.Random`` (normal approximation for large means)."""
    if lam > 60:
        return max(0, round(rng.gauss(lam, lam**0.5)))
    k, p, limit = 0, 1.0, 2.718281828459045 ** -lam
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
