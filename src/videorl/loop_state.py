"""What a training checkpoint carries besides networks, buffer and RNG states."""

from __future__ import annotations

import dataclasses
import math
from typing import Any


@dataclasses.dataclass
class LoopState:
    """Counters that a checkpoint must carry besides networks, buffer and RNGs."""

    step: int = 0
    pretrain_step: int = 0  # steps of the method's phase before interaction taken
    start_evaluated: bool = False  # the evaluation before interaction (eval_at_start) done
    episodes: int = 0  # finished training episodes
    episode_actions: list = dataclasses.field(default_factory=list)  # of the open episode
    episode_return: float = 0.0
    best_eval: float = -math.inf
    recent_returns: list = dataclasses.field(default_factory=list)


def tuplify(obj: Any) -> Any:
    """random.setstate needs tuples; the checkpoint may hold lists."""
    if isinstance(obj, list | tuple):
        return tuple(tuplify(x) for x in obj)
    return obj
