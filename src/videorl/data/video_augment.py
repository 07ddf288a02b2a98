"""RLMU's Video Data Generator (Cao, Sharma, Rai; Section 3.2): "negative" copies of the
observation videos, made in memory as new frame orders over the originals' frames.

- ``negative_jitter``: frames before a start frame unchanged, then the next ``jitter`` frames
  forward and then reversed, again and again, until the video's original length. It mimics a
  robot early in training that moves back and forth and makes no progress.
- ``reverse``: the whole video backwards (the report found it did not help; kept to rerun it).

A generator returns frame orders (indices into one original video), never frames, so the user's
dataset is never written and the copies cost only their frames in memory. Which videos are
copied, and each copy's start frame, are drawn from the run's seed alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from videorl.errors import UserError

AUGMENTS = ("none", "negative_jitter", "reverse")


@dataclass(frozen=True)
class VideoAugment:
    """What copies to add to the observation videos (see :func:`augmented_orders`)."""

    kind: str  # negative_jitter or reverse
    fraction: float  # copies per original video
    jitter: int
    start_range: tuple[int, int]

    def orders(self, lengths: Sequence[int], seed: int) -> list[tuple[int, np.ndarray]]:
        return augmented_orders(
            lengths, self.kind, self.fraction, self.jitter, self.start_range, seed
        )


def negative_jitter_order(length: int, jitter: int, start: int) -> np.ndarray:
    """Frame order of a negative-jitter copy of a video of ``length`` frames (Section 3.2):
    ``0 .. start-1``, then the block ``start .. start+jitter-1`` forward and then reversed,
    repeated and cut at ``length`` frames. The literal reading of the report: the turn
    repeats the block's end frame (..., s+j-1, s+j-1, ...), a transition without motion."""
    if jitter < 1 or start < 0 or start + jitter > length:
        raise ValueError(
            f"negative jitter needs 1 <= jitter and start + jitter <= length, got "
            f"jitter={jitter}, start={start}, length={length}"
        )
    block = np.arange(start, start + jitter)
    cycle = np.concatenate([block, block[::-1]])
    repeats = -(-(length - start) // len(cycle))  # ceiling division
    tail = np.tile(cycle, repeats)[: length - start]
    return np.concatenate([np.arange(start), tail]).astype(np.int64)


def reversed_order(length: int) -> np.ndarray:
    """Frame order of a video played backwards."""
    return np.arange(length - 1, -1, -1, dtype=np.int64)


def augmented_orders(
    lengths: Sequence[int],
    kind: str,
    fraction: float,
    jitter: int,
    start_range: Sequence[int],
    seed: int,
) -> list[tuple[int, np.ndarray]]:
    """(source video, frame order) of ``round(fraction * number of videos)`` (at least one)
    augmented copies of distinct videos, drawn from ``seed`` alone. Negative jitter copies
    only videos long enough for a start in ``start_range`` (inclusive, the report's 10-25)
    plus ``jitter`` frames, and refuses (UserError) when too few are; each copy's start is
    uniform over the range, cut to what its video allows."""
    if kind == "none":
        return []
    if kind not in AUGMENTS:
        raise ValueError(f"obs_augment must be one of {', '.join(AUGMENTS)}, got {kind!r}")
    lengths = np.asarray(lengths, dtype=np.int64)
    low, high = int(start_range[0]), int(start_range[1])
    if kind == "negative_jitter":
        eligible = np.flatnonzero(lengths >= low + jitter + 1)
    else:
        eligible = np.flatnonzero(lengths >= 2)
    count = max(1, round(fraction * len(lengths)))
    if len(eligible) < count:
        raise UserError(
            f"obs_augment={kind} asks for {count} copies (augment_fraction {fraction}) "
            f"but only {len(eligible)} of {len(lengths)} videos have the {low + jitter + 1} "
            f"frames a copy needs (jitter_start {low} + jitter {jitter} + 1); lower "
            "jitter_start, jitter or augment_fraction"
        )
    rng = np.random.default_rng([seed, 7])  # its own stream: other draws stay as they were
    chosen = np.sort(rng.choice(eligible, size=count, replace=False))
    orders = []
    for video in chosen.tolist():
        length = int(lengths[video])
        if kind == "reverse":
            orders.append((video, reversed_order(length)))
            continue
        start = int(rng.integers(low, min(high, length - jitter - 1) + 1))
        orders.append((video, negative_jitter_order(length, jitter, start)))
    return orders
