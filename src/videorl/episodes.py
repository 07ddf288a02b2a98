"""Many episodes stored back to back, and the rules for sampling from them.

RLV's observation pool, the dataset reader and HOLD's training data all hold whole videos
concatenated in one array and draw transitions, windows or pairs from it. Each draw rule
lives here once, as a method of :class:`EpisodeStore`, so that the three users cannot drift
apart. A sampler returns flat frame indices (or episode and time), never frames: the caller
gathers from its own copy of the frames (numpy HWC, torch CHW, a paired domain) with the same
indices, so frames are never stored twice for sampling's sake.

The random draws of every sampler are part of its contract: recorded training runs are
compared bit for bit, so the calls on ``rng`` (their kind, order, sizes and dtypes) must
stay exactly as they are.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the store only slices frames; the numpy-only dataset reader needs no torch
    import torch


def history_index(start: np.ndarray, t: np.ndarray, history: int) -> np.ndarray:
    """Flat indices (B, history) of the frames t-history+1..t of episodes starting at flat
    index ``start``, repeating an episode's first frame where the history reaches before it
    (a stacked state at t = 0 then looks like a robot that has not moved yet)."""
    offsets = np.arange(1 - history, 1)
    return start[:, None] + np.maximum(t[:, None] + offsets[None, :], 0)


class EpisodeStore:
    """Episodes back to back: ``frames[starts[e] : starts[e] + lengths[e]]`` is episode e.

    ``frames`` may be a numpy array or a torch tensor of any per-frame shape; the store only
    slices it (no copy). ``lengths`` and ``starts`` are int64 arrays, one entry per episode.
    """

    def __init__(
        self, frames: np.ndarray | torch.Tensor, lengths: Sequence[int] | np.ndarray
    ) -> None:
        self.lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
        if (self.lengths < 0).any():
            raise ValueError("EpisodeStore: episode lengths must be >= 0")
        ends = np.cumsum(self.lengths)
        self.starts = (ends - self.lengths).astype(np.int64)
        total = int(ends[-1]) if len(ends) else 0
        if len(frames) != total:
            raise ValueError(f"EpisodeStore: {len(frames)} frames but the lengths sum to {total}")
        self.frames = frames
        self._table: tuple[np.ndarray, np.ndarray] | None = None
        self._window_starts: dict[int, np.ndarray] = {}

    @classmethod
    def from_episodes(cls, episodes: Sequence[np.ndarray]) -> EpisodeStore:
        """Concatenate ``episodes`` into one new (writable) array; an empty list gives an
        empty store."""
        lengths = [len(e) for e in episodes]
        frames = np.concatenate(list(episodes)) if episodes else np.zeros((0,), np.float32)
        return cls(frames, lengths)

    def with_frames(self, frames: np.ndarray | torch.Tensor) -> EpisodeStore:
        """The same episodes over another copy of their frames (e.g. torch channel-first for
        the observation pool), sharing this store's index arrays and caches, not copying."""
        if len(frames) != self.num_frames:
            raise ValueError(
                f"EpisodeStore: {len(frames)} frames, this store has {self.num_frames}"
            )
        self.transition_table()  # build it once, for both stores
        other = copy.copy(self)  # shallow: lengths, starts, table and window cache are shared
        other.frames = frames
        return other

    # -- layout -------------------------------------------------------------------------
    def __len__(self) -> int:
        """Number of episodes."""
        return len(self.lengths)

    @property
    def num_frames(self) -> int:
        return len(self.frames)

    def episode(self, i: int) -> np.ndarray | torch.Tensor:
        """Episode ``i`` as a view into ``frames``."""
        start = int(self.starts[i])
        return self.frames[start : start + int(self.lengths[i])]

    def transition_table(self) -> tuple[np.ndarray, np.ndarray]:
        """(flat index i of each transition's first frame, True where it ends its episode),
        in episode order. Transition k is (frames[i_k], frames[i_k + 1]); an is-last flag is
        where RLV Eq. 2 puts the terminal reward. Built once, then cached."""
        if self._table is None:
            last_frame = np.zeros(self.num_frames + 1, dtype=bool)
            nonempty = self.lengths > 0
            last_frame[(self.starts + self.lengths - 1)[nonempty]] = True
            first = np.flatnonzero(~last_frame[:-1]).astype(np.int64)
            self._table = (first, last_frame[first + 1])
        return self._table

    @property
    def num_transitions(self) -> int:
        """Sum over episodes of (length - 1)."""
        return int(np.maximum(self.lengths - 1, 0).sum())

    def window_starts(self, length: int) -> np.ndarray:
        """Flat start index of every window of ``length`` consecutive frames inside one
        episode, in episode order (episodes shorter than ``length`` have none). Cached."""
        return self._windows(length)[0]

    def _windows(self, length: int) -> tuple[np.ndarray, np.ndarray]:
        """(flat start, start / number of windows in its episode) of every window. Cached."""
        if length not in self._window_starts:
            starts, positions = [np.empty(0, np.int64)], [np.empty(0, np.float64)]
            for s, t in zip(self.starts.tolist(), self.lengths.tolist(), strict=True):
                if t >= length:
                    starts.append(np.arange(s, s + t - length + 1, dtype=np.int64))
                    positions.append(np.arange(t - length + 1) / (t - length + 1))
            self._window_starts[length] = (np.concatenate(starts), np.concatenate(positions))
        return self._window_starts[length]

    # -- samplers -----------------------------------------------------------------------
    def sample_transitions(
        self, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n`` transitions uniform (with replacement) over all (f_i, f_{i+1}) of all
        episodes. Returns (transition ids k into the table, e.g. for per-transition labels;
        flat index i of the first frame; is-last flag)."""
        first, last = self.transition_table()
        if len(first) == 0:
            raise ValueError("EpisodeStore: no episode has a transition (2 frames)")
        k = rng.integers(0, len(first), size=n)
        return k, first[k], last[k]

    def sample_windows(self, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
        """Flat indices (n, length) of ``n`` windows of ``length`` consecutive frames of one
        episode each, uniform (with replacement) over all such windows, so long episodes are
        drawn in proportion to how many windows they hold."""
        return self.sample_placed_windows(n, length, rng)[0]

    def sample_placed_windows(
        self, n: int, length: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """The draw of :meth:`sample_windows`, plus where each window starts in its episode:
        start / (number of windows in the episode), in [0, 1)."""
        starts, positions = self._windows(length)
        if len(starts) == 0:
            raise ValueError(f"EpisodeStore: no episode has {length} frames")
        k = rng.integers(0, len(starts), size=n)
        return starts[k][:, None] + np.arange(length), positions[k]

    def sample_pairs(
        self, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n`` (episode, t, t + delta) with delta >= 1, uniform over all ordered pairs of
        all episodes (HOLD-R, Eq. 2's triple sum): an episode is drawn with weight
        L(L-1)/2, then a pair in it."""
        lengths = self.lengths
        pairs = lengths * (lengths - 1) / 2
        episode = rng.choice(len(lengths), size=n, p=pairs / pairs.sum())
        length = lengths[episode]
        a = rng.integers(0, length)
        b = (a + 1 + rng.integers(0, length - 1)) % length  # uniform over b != a
        return episode, np.minimum(a, b), np.maximum(a, b)

    def sample_episode_windows(
        self, episodes: int, length: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """(episode, t) of the frames of ``episodes`` distinct episodes (all when fewer),
        each contributing one window of ``length`` consecutive frames at a uniform start
        (the whole episode when shorter): HOLD-C's batch of Table II, where a batch must mix
        several videos for the triplet loss to have negatives from other videos."""
        lengths = self.lengths
        chosen = rng.choice(len(lengths), size=min(episodes, len(lengths)), replace=False)
        eps, time = [], []
        for e in chosen:
            span = min(length, int(lengths[e]))
            t0 = int(rng.integers(0, lengths[e] - span + 1))
            eps.append(np.full(span, e))
            time.append(np.arange(t0, t0 + span))
        return np.concatenate(eps), np.concatenate(time)

    def history_index(self, episode: np.ndarray, t: np.ndarray, history: int) -> np.ndarray:
        """Flat indices (B, history) of frames t-history+1..t of each ``episode`` (see the
        module function :func:`history_index`)."""
        return history_index(self.starts[episode], t, history)
