"""Replay storage. Every frame is stored once; a transition's next observation is the slot
after its observation, so pixel memory is about one frame per transition, not two.

Layout: a ring of observation slots and a ring of transitions. Episode e of length T takes
T + 1 consecutive observation slots (its reset frame plus one per step). Both rings are FIFO:
before an observation slot is overwritten, the (oldest) transitions that read it are evicted.
``terminated`` and ``truncated`` are stored apart (REFERENCE.md defect 3): the critic
bootstraps through a time-limit truncation and never through a true termination.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from videorl.episodes import EpisodeStore
from videorl.errors import UserError


@dataclass(frozen=True)
class Batch:
    """A sampled minibatch; pixels stay uint8 (B, C, H, W) until the agent converts them."""

    obs: torch.Tensor
    action: torch.Tensor
    reward: torch.Tensor
    next_obs: torch.Tensor
    terminated: torch.Tensor

    def __post_init__(self) -> None:
        n = self.obs.shape[0]
        for name in ("action", "reward", "next_obs", "terminated"):
            value = getattr(self, name)
            if value.shape[0] != n:
                raise ValueError(f"Batch.{name} has {value.shape[0]} rows, obs has {n}")
        if self.next_obs.shape != self.obs.shape:
            raise ValueError(f"Batch.next_obs shape {tuple(self.next_obs.shape)} != obs shape")
        if self.reward.dim() != 1 or self.terminated.dim() != 1:
            raise ValueError("Batch.reward and Batch.terminated must be 1-D")

    def __len__(self) -> int:
        return self.obs.shape[0]


class ReplayBuffer:
    """FIFO replay of whole episodes with single-stored observations.

    Usage per episode: ``start_episode(obs0)`` then ``add(action, reward, next_obs,
    terminated, truncated)`` for every step. ``sample(n, rng)`` draws uniformly.
    Pixel observations (uint8, HWC) are stored channel-first so batches need no permute.
    """

    def __init__(
        self,
        capacity: int,
        obs_shape: tuple[int, ...],
        obs_dtype: np.dtype | type,
        action_shape: tuple[int, ...],
        frame_slack: float = 0.05,
    ) -> None:
        if capacity < 1:
            raise ValueError("ReplayBuffer capacity must be positive")
        self.pixels = np.dtype(obs_dtype) == np.uint8 and len(obs_shape) == 3
        store_shape = (obs_shape[2], obs_shape[0], obs_shape[1]) if self.pixels else obs_shape
        self.obs_shape = tuple(obs_shape)
        self.capacity = capacity
        # One extra observation slot per episode start; 5% slack covers episodes of >= 20 steps
        # before the observation ring (not the transition ring) becomes the binding limit.
        self.obs_capacity = capacity + int(capacity * frame_slack) + 2
        torch_dtype = torch.uint8 if self.pixels else torch.float32
        self._obs = torch.zeros((self.obs_capacity, *store_shape), dtype=torch_dtype)
        self._obs_slot = torch.zeros(capacity, dtype=torch.int64)  # transition -> obs slot
        self._action = torch.zeros((capacity, *action_shape), dtype=torch.float32)
        self._reward = torch.zeros(capacity, dtype=torch.float32)
        self._terminated = torch.zeros(capacity, dtype=torch.bool)
        self._truncated = torch.zeros(capacity, dtype=torch.bool)
        self._head = 0  # oldest transition
        self.size = 0  # valid transitions
        self._obs_head = 0  # oldest observation slot in use
        self._obs_count = 0
        self._current_slot = -1  # obs slot of the latest observation of the open episode
        self.episodes = 0

    # -- writing -------------------------------------------------------------------------
    def _to_store(self, obs: np.ndarray) -> torch.Tensor:
        obs = np.asarray(obs)
        if obs.shape != self.obs_shape:
            raise ValueError(f"observation shape {obs.shape} != buffer shape {self.obs_shape}")
        t = torch.from_numpy(np.ascontiguousarray(obs))
        return t.permute(2, 0, 1) if self.pixels else t

    def _write_obs(self, obs: np.ndarray) -> int:
        slot = (self._obs_head + self._obs_count) % self.obs_capacity
        if self._obs_count == self.obs_capacity:
            # Evict the oldest transitions that still read the slot we overwrite.
            while self.size > 0:
                first = int(self._obs_slot[self._head])
                if first != slot and (first + 1) % self.obs_capacity != slot:
                    break
                self._pop_oldest()
            self._obs_head = (self._obs_head + 1) % self.obs_capacity
            self._obs_count -= 1
        self._obs[slot] = self._to_store(obs)
        self._obs_count += 1
        return slot

    def _pop_oldest(self) -> None:
        self._head = (self._head + 1) % self.capacity
        self.size -= 1

    def start_episode(self, obs: np.ndarray) -> None:
        """Store the reset observation of a new episode."""
        self._current_slot = self._write_obs(obs)
        self.episodes += 1

    def add(
        self,
        action: np.ndarray | int | float,
        reward: float,
        next_obs: np.ndarray,
        terminated: bool,
        truncated: bool,
    ) -> None:
        """Store one step of the open episode (its observation is the previous slot)."""
        if self._current_slot < 0:
            raise RuntimeError("ReplayBuffer.add before start_episode")
        obs_slot = self._current_slot
        self._current_slot = self._write_obs(next_obs)
        if self._current_slot != (obs_slot + 1) % self.obs_capacity:
            raise RuntimeError("observation slots of one episode must be consecutive")
        if self.size == self.capacity:
            self._pop_oldest()
        i = (self._head + self.size) % self.capacity
        self._obs_slot[i] = obs_slot
        self._action[i] = torch.as_tensor(np.asarray(action, dtype=np.float32)).reshape(
            self._action.shape[1:]
        )
        self._reward[i] = float(reward)
        self._terminated[i] = bool(terminated)
        self._truncated[i] = bool(truncated)
        self.size += 1
        if terminated or truncated:
            self._current_slot = -1

    # -- reading -------------------------------------------------------------------------
    def sample(self, n: int, rng: np.random.Generator) -> Batch:
        """Uniformly sample n stored transitions (with replacement)."""
        if self.size == 0:
            raise RuntimeError("cannot sample from an empty ReplayBuffer")
        offsets = torch.from_numpy(rng.integers(0, self.size, size=n))
        idx = (offsets + self._head) % self.capacity
        slot = self._obs_slot[idx]
        next_slot = (slot + 1) % self.obs_capacity
        return Batch(
            obs=self._obs[slot],
            action=self._action[idx],
            reward=self._reward[idx],
            next_obs=self._obs[next_slot],
            terminated=self._terminated[idx].float(),
        )

    def transitions(self) -> dict[str, torch.Tensor]:
        """All stored transitions in insertion order (for tests and data export)."""
        idx = (torch.arange(self.size) + self._head) % self.capacity
        slot = self._obs_slot[idx]
        return {
            "obs": self._obs[slot],
            "next_obs": self._obs[(slot + 1) % self.obs_capacity],
            "action": self._action[idx],
            "reward": self._reward[idx],
            "terminated": self._terminated[idx],
            "truncated": self._truncated[idx],
        }

    def nbytes(self) -> int:
        """Bytes held by the storage tensors."""
        tensors = (self._obs, self._obs_slot, self._action, self._reward)
        return sum(t.numel() * t.element_size() for t in tensors) + 2 * self.capacity

    def __len__(self) -> int:
        return self.size

    # -- checkpointing -------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Only the filled part, re-packed from the oldest entry (tensors and ints only)."""
        tidx = (torch.arange(self.size) + self._head) % self.capacity
        oidx = (torch.arange(self._obs_count) + self._obs_head) % self.obs_capacity
        return {
            "obs": self._obs[oidx].clone(),
            "obs_slot": (self._obs_slot[tidx] - self._obs_head) % self.obs_capacity,
            "action": self._action[tidx].clone(),
            "reward": self._reward[tidx].clone(),
            "terminated": self._terminated[tidx].clone(),
            "truncated": self._truncated[tidx].clone(),
            "current_slot": (self._current_slot - self._obs_head) % self.obs_capacity
            if self._current_slot >= 0
            else -1,
            "episodes": self.episodes,
            "capacity": self.capacity,
            "obs_capacity": self.obs_capacity,
        }

    def load_state_dict(self, state: dict) -> None:
        n, m = state["action"].shape[0], state["obs"].shape[0]
        if n > self.capacity or m > self.obs_capacity:
            raise ValueError(
                f"checkpointed replay buffer holds {n} transitions / {m} observations; "
                f"this buffer has room for {self.capacity} / {self.obs_capacity}"
            )
        self._obs[:m] = state["obs"]
        self._obs_slot[:n] = state["obs_slot"]
        self._action[:n] = state["action"]
        self._reward[:n] = state["reward"]
        self._terminated[:n] = state["terminated"]
        self._truncated[:n] = state["truncated"]
        self._head, self.size = 0, n
        self._obs_head, self._obs_count = 0, m
        self._current_slot = state["current_slot"]
        self.episodes = state["episodes"]


@dataclass(frozen=True)
class ObservationBatch:
    """Action-free transitions from observation videos (RLV's D_obs), pixels uint8 CHW.

    ``last`` marks a video's final transition (where RLV Eq. 2 puts the terminal reward).
    The ``gt_*`` fields are the dataset's ground truth, filled only when an ablation or a
    diagnostic asks for it; ``paired_*`` hold the same moments rendered in the robot's
    domain when a paired dataset is given.
    """

    obs: torch.Tensor
    next_obs: torch.Tensor
    last: torch.Tensor
    gt_action: torch.Tensor | None = None
    gt_reward: torch.Tensor | None = None
    gt_terminated: torch.Tensor | None = None
    reward_label: torch.Tensor | None = None
    paired_obs: torch.Tensor | None = None
    paired_next_obs: torch.Tensor | None = None

    def __post_init__(self) -> None:
        n = self.obs.shape[0]
        for name in ("next_obs", "last", "gt_action", "gt_reward", "gt_terminated", "reward_label",
                     "paired_obs", "paired_next_obs"):  # fmt: skip
            value = getattr(self, name)
            if value is not None and value.shape[0] != n:
                raise ValueError(f"ObservationBatch.{name} has {value.shape[0]} rows, obs has {n}")
        if self.next_obs.shape != self.obs.shape:
            raise ValueError("ObservationBatch.next_obs must have the shape of obs")
        if self.last.dim() != 1:
            raise ValueError("ObservationBatch.last must be 1-D")

    def __len__(self) -> int:
        return self.obs.shape[0]


class ObservationPool:
    """An observation dataset held for sampling: frames stored once as torch tensors
    (pixels channel-first) in a ``videorl.episodes.EpisodeStore``, whose samplers draw the
    transitions and clips, plus per-transition ground truth when asked for.

    ``dataset`` is a ``videorl.data.dataset.VideoDataset``; ``paired`` an optional second
    dataset of the same rollouts rendered in another domain (same episode lengths).
    ``extra_videos`` (source video, frame order) adds videos made from the dataset's frames
    in memory (``videorl.data.video_augment``) after the originals: transitions are drawn
    from all videos, clips from the originals only, and the extra videos have no ground
    truth (NaN actions and rewards, never terminated).
    """

    def __init__(
        self, dataset, groundtruth: bool = False, paired=None, reward_labels=None,
        clip_length: int = 0, extra_videos: Sequence[tuple[int, np.ndarray]] = (),
    ) -> None:  # fmt: skip
        frames = torch.from_numpy(np.array(dataset.frames))
        self.pixels = frames.dtype == torch.uint8 and frames.dim() == 4
        self.obs_shape = tuple(frames.shape[1:])
        self._frames = self._store(frames)
        # The dataset's episode layout over these frames; its index arrays are shared.
        self._videos = self._episodes = dataset.episodes.with_frames(self._frames)
        self._extra_transitions = 0
        if extra_videos:
            starts, lengths = dataset.episodes.starts, dataset.episodes.lengths
            index = np.concatenate([starts[v] + order for v, order in extra_videos])
            self._frames = torch.cat([self._frames, self._frames[torch.from_numpy(index)]])
            extra_lengths = [len(order) for _, order in extra_videos]
            self._episodes = EpisodeStore(self._frames, [*lengths, *extra_lengths])
            self._extra_transitions = sum(t - 1 for t in extra_lengths)
        self.clip_length = clip_length
        if clip_length > 0 and len(self._videos.window_starts(clip_length)) == 0:
            raise UserError(
                f"{dataset.path}: no video has {clip_length} frames, the clip length "
                "this method needs; use longer videos or a shorter clip"
            )
        self._labels = None
        if reward_labels is not None:
            if len(reward_labels) != len(self):
                raise ValueError("reward_labels needs one value per transition")
            self._labels = torch.as_tensor(reward_labels, dtype=torch.float32)
        self._gt: dict[str, torch.Tensor] = {}
        if groundtruth:
            self._gt = self._load_groundtruth(dataset)
        self._paired = None
        if paired is not None:
            if paired.lengths != dataset.lengths or tuple(paired.frames.shape[1:]) != tuple(
                frames.shape[1:]
            ):
                raise UserError(
                    f"{paired.path}: its episodes do not pair frame by frame with "
                    f"{dataset.path} (lengths or image size differ); collect both with the "
                    "same --env, --policy, --seed and --episodes"
                )
            self._paired = self._store(torch.from_numpy(np.array(paired.frames)))

    def _store(self, frames: torch.Tensor) -> torch.Tensor:
        return frames.permute(0, 3, 1, 2).contiguous() if self.pixels else frames.float()

    def _load_groundtruth(self, dataset) -> dict[str, torch.Tensor]:
        from videorl.data.manifest import DatasetError

        if not dataset.has_groundtruth:
            raise DatasetError(
                f"{dataset.path}: has no groundtruth/ folder, which a ground-truth ablation "
                "needs; use a dataset made by videorl collect, or the default labels"
            )
        per_episode = [dataset.groundtruth(i) for i in range(len(dataset))]
        out = {}
        for key in ("actions", "rewards", "terminated"):
            if all(key in gt for gt in per_episode):
                arr = np.concatenate([gt[key] for gt in per_episode]).astype(np.float32)
                arr = arr.reshape(len(arr), -1) if key == "actions" else arr
                unknown = np.full((self._extra_transitions, *arr.shape[1:]), np.nan, np.float32)
                if key == "terminated":
                    unknown[:] = 0.0
                out[key] = torch.from_numpy(np.concatenate([arr, unknown]))
        return out

    def __len__(self) -> int:
        return self._episodes.num_transitions

    def sample(self, n: int, rng: np.random.Generator) -> ObservationBatch:
        """``n`` transitions drawn uniformly (with replacement) over all videos' transitions."""
        ids, first, last = self._episodes.sample_transitions(n, rng)
        j, i = torch.from_numpy(ids), torch.from_numpy(first)
        gt = {k: v[j] for k, v in self._gt.items()}
        return ObservationBatch(
            obs=self._frames[i],
            next_obs=self._frames[i + 1],
            last=torch.from_numpy(last),
            gt_action=gt.get("actions"),
            gt_reward=gt.get("rewards"),
            gt_terminated=gt.get("terminated"),
            reward_label=None if self._labels is None else self._labels[j],
            paired_obs=None if self._paired is None else self._paired[i],
            paired_next_obs=None if self._paired is None else self._paired[i + 1],
        )

    def sample_clips(self, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` sub-sequences of ``clip_length`` consecutive frames of one original video
        each, drawn uniformly over all such windows: (n, L, C, H, W) uint8 or (n, L, D)
        states, and where each starts in its video, start / (number of windows) in [0, 1)."""
        if self.clip_length <= 0:
            raise RuntimeError("ObservationPool.sample_clips needs clip_length > 0")
        index, position = self._videos.sample_placed_windows(n, self.clip_length, rng)
        return self._frames[torch.from_numpy(index)], torch.from_numpy(position).float()
