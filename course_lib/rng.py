"""Random generators from what a caller passes: every random draw in course_lib takes either a
numpy Generator (used as is, so its state advances) or an int seed (the same seed, the same draw)."""
from __future__ import annotations

import numpy as np


def as_generator(rng: np.random.Generator | int) -> np.random.Generator:
    """rng itself if it is a Generator, else ``default_rng(rng)`` for an int seed."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"expected a numpy Generator or an int seed, got {rng!r}")
