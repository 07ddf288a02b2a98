"""A video's idle tail, found without labels: videos cut where it begins (``obs_cut``), or
labelled as in the goal (``obs_rewards: idle_tail``).

An expert that reaches the goal and then holds it makes videos whose last frames all show the
goal state (the State Pusher's scripted expert: goal at steps 16-28 of 100, then held). RLV's
Eq. 2 gives ``c_large`` and a terminal to the very last transition only, so the labels say
"the goal is reached once, at the end" while the video shows it reached long before; the
critic spreads the one reward over the held states. Cutting each video where its idle tail
begins makes Eq. 2's reading true: the last transition enters the goal state, and it is
terminal. It reads no success flag, so it works on imported videos too. (``first_reward``,
the control, cuts after the first transition that the dataset's ground truth rewards.)

The other reading keeps the videos whole and labels them like a task that rewards every step
in the goal: ``c_large`` on each transition into the idle tail, ``c_small`` before it, and no
transition terminal (a video's end is where the recording stopped, not an absorbing state).
With ``c_large`` set to the robot's reward per step in the goal, the videos' held-goal states
then get the value the robot's own data gives them, instead of Eq. 2's c_small.

The idle tail is the longest suffix in which every frame stays within ``fraction`` of the
video's largest distance from its last frame (Euclidean for states; mean absolute difference
for frames), when it has at least ``min_frames`` frames; the tolerance is relative, so it
needs no units and accepts the small motions of a hand that holds still imperfectly.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from videorl.episodes import EpisodeStore


def distances_to_end(video: np.ndarray) -> np.ndarray:
    """Distance of every frame of ``video`` (T, ...) to its last frame."""
    x = np.asarray(video).reshape(len(video), -1).astype(np.float32)
    diff = x - x[-1]
    if np.asarray(video).dtype == np.uint8:
        return np.abs(diff).mean(1)
    return np.sqrt((diff**2).sum(1))


def idle_tail_start(video: np.ndarray, fraction: float, min_frames: int) -> int | None:
    """Index of the first frame of ``video``'s idle tail, or None when it has none."""
    d = distances_to_end(video)
    scale = float(d.max())
    if scale <= 0.0:
        return None  # a still video: nothing moves, nothing to cut
    start = int(np.flatnonzero(d > fraction * scale)[-1]) + 1
    return start if len(video) - start >= min_frames else None


def idle_tail_starts(dataset, fraction: float, min_frames: int) -> list[int | None]:
    """First frame of each video's idle tail, None for a video without one."""
    return [idle_tail_start(video, fraction, min_frames) for video in dataset]


def frames_to_keep(dataset, fraction: float, min_frames: int) -> list[int]:
    """Frames kept per video when each is cut at the first frame of its idle tail."""
    starts = idle_tail_starts(dataset, fraction, min_frames)
    return [t if start is None else start + 1 for start, t in zip(starts, dataset.lengths)]


def frames_to_first_reward(dataset) -> list[int]:
    """Frames kept per video when each ends with the first transition that its ground truth
    rewards (videos never rewarded are kept whole): the control that reads labels."""
    keep = []
    for i, length in enumerate(dataset.lengths):
        hit = np.flatnonzero(dataset.groundtruth(i)["rewards"] > 0)
        keep.append(int(hit[0]) + 2 if len(hit) else length)
    return keep


def idle_tail_rewards(
    lengths: list[int], starts: list[int | None], c_large: float, c_small: float
) -> np.ndarray:
    """Per-transition reward labels of videos of ``lengths`` frames whose idle tails begin at
    ``starts`` (``idle_tail_starts``), in the dataset's transition order (each video's T - 1
    transitions in turn): ``c_large`` where the next frame lies in the idle tail, ``c_small``
    elsewhere (a video without an idle tail: ``c_small`` throughout)."""
    labels = []
    for length, start in zip(lengths, starts):
        into_tail = np.arange(1, length) >= (length if start is None else start)
        labels.append(np.where(into_tail, c_large, c_small))  # Eq. 2 variant, beyond the paper
    return np.concatenate(labels).astype(np.float32)


class CutVideos:
    """A dataset's videos cut to their first ``keep[i]`` frames, in memory (the dataset on
    disk is never changed), with the reading interface the observation pool uses: frames,
    episodes, lengths, per-transition ground truth cut alike."""

    def __init__(self, dataset, keep: list[int]) -> None:
        if len(keep) != len(dataset) or any(not 2 <= k <= t for k, t in zip(keep, dataset.lengths)):
            raise ValueError("CutVideos: keep 2..T frames of every video")
        self.source = dataset
        self.path, self.manifest, self.kind = dataset.path, dataset.manifest, dataset.kind
        self.has_groundtruth, self.obs_shape = dataset.has_groundtruth, dataset.obs_shape
        self.episodes = EpisodeStore.from_episodes([dataset[i][:k] for i, k in enumerate(keep)])
        self.frames = self.episodes.frames
        self.lengths = list(keep)

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.episodes.episode(i)

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self[i] for i in range(len(self)))

    def groundtruth(self, i: int) -> dict[str, np.ndarray] | None:
        gt = self.source.groundtruth(i)
        if gt is None:
            return None
        return {key: value[: self.lengths[i] - 1] for key, value in gt.items()}
