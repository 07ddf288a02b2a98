"""What a training checkpoint carries besides networks, buffer and RNG states."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import torch


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


class MetricSums:
    """Sums of the update metrics since the last metrics row, one count per key: an update
    returns the metrics of what it trained (BCO fits its inverse model and its policy in
    turns), so each column is the mean over the updates that reported it."""

    def __init__(self, keys: list[str], device: torch.device) -> None:
        self.keys, self.device = list(keys), device
        self.reset()

    def reset(self) -> None:
        self.sums = {k: torch.zeros((), device=self.device) for k in self.keys}
        self.counts = dict.fromkeys(self.keys, 0)
        self.updates = 0

    def add(self, metrics: Mapping[str, torch.Tensor]) -> None:
        for key, value in metrics.items():
            self.sums[key] += value
            self.counts[key] += 1
        self.updates += 1

    def trained(self) -> dict[str, float]:
        """Means of the keys some update reported."""
        return {k: float(self.sums[k]) / n for k, n in self.counts.items() if n}

    def means(self) -> dict[str, float]:
        """Every key's mean; NaN for a key no update reported."""
        return {**dict.fromkeys(self.keys, math.nan), **self.trained()}
