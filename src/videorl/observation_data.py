"""A method's observation videos, loaded for the loop: the dataset checked against the task,
an optional paired dataset, and optional learned reward labels, in one ObservationPool."""

from __future__ import annotations

from typing import Any

import numpy as np

from videorl.agents.base import ObservationRequest, Spaces
from videorl.config import TrainConfig
from videorl.errors import UserError
from videorl.replay import ObservationPool
from videorl.rollout import make_env, scale_seeds


def load_observation_pool(
    cfg: TrainConfig, spaces: Spaces, request: ObservationRequest
) -> tuple[ObservationPool, dict[str, Any] | None]:
    """D_obs from ``cfg.videos.obs_data``; its observations must match the robot's. With a
    learned ``request.reward_labels`` (e.g. hold:MODEL_DIR) every transition is labelled once
    with it; returns (pool, that reward's resolved info or None)."""
    from videorl.data.dataset import VideoDataset

    ds = VideoDataset(cfg.videos.obs_data)
    check_matches(ds, spaces, cfg.run.env, "--obs-data")
    # Ground truth (actions above all) means something only on the task it was recorded on:
    # acrobot's action indices are not acrobot-continuous's torques.
    same_task = ds.manifest.task == cfg.run.env
    check_groundtruth(ds, request.groundtruth, cfg.run.env if same_task else None)
    paired = None
    if request.paired_data:
        paired = VideoDataset(request.paired_data)
        check_matches(paired, spaces, cfg.run.env, "paired_data")
    if request.cut:
        from videorl.data.idle_tail import CutVideos, frames_to_first_reward, frames_to_keep

        where, fraction, min_frames = request.cut
        keep = (frames_to_keep(ds, fraction, min_frames) if where == "idle_tail"
                else frames_to_first_reward(ds))  # fmt: skip
        if list(keep) == list(ds.lengths):
            why = (idle_tail_missing(fraction, min_frames) if where == "idle_tail" else
                   "no video's groundtruth/ rewards a transition before its last")  # fmt: skip
            raise UserError(
                f"obs_cut={where} would cut none of the {len(keep)} videos in {ds.path}: {why}, "
                "or drop obs_cut"
            )
        if paired is not None and paired.lengths == ds.lengths:  # else the pool refuses it
            paired = CutVideos(paired, keep)  # cut where the videos they pair with are
        ds = CutVideos(ds, keep)  # in memory: the dataset on disk is never changed
    labels, info = None, None
    if request.reward_labels:
        labels, info = learned_labels(cfg, request.reward_labels, ds)
    elif request.idle_tail_labels:
        labels = idle_tail_labels(ds, *request.idle_tail_labels)
    # Ground truth also feeds diagnostics when the dataset has it; it trains nothing unless
    # the method asked for it (an ablation), and then it must be there.
    pool = ObservationPool(
        ds, groundtruth=ds.has_groundtruth and same_task, paired=paired,
        reward_labels=labels, clip_length=request.clip_length,
        extra_videos=request.augment.orders(ds.lengths, cfg.run.seed) if request.augment else (),
    )  # fmt: skip
    return pool, info


def learned_labels(cfg: TrainConfig, spec: str, ds) -> tuple[np.ndarray, dict]:
    """The learned reward ``spec`` of every observation transition (f_i, f_{i+1}), in the
    dataset's transition order: the reward the robot gets for reaching f_{i+1} with the same
    goal, scale T and history, without the sparse task reward (videos have none)."""
    from videorl.rewards.build import build_goal_reward

    env = make_env(cfg.run.env)
    try:
        seeds = scale_seeds(cfg.run.seed)
        reward, info = build_goal_reward(cfg.reward, spec, env, seeds, flag="--obs-reward")
    finally:
        env.close()
    labels = []
    for video in ds:
        reward.reset(np.asarray(video[0]))
        labels += [reward.step(np.asarray(frame), 0.0) for frame in video[1:]]
    return np.asarray(labels, dtype=np.float32), info


def idle_tail_missing(fraction: float, min_frames: int) -> str:
    return (f"none has an idle tail of idle_min_frames={min_frames} frames within "
            f"idle_fraction={fraction}; raise idle_fraction or lower idle_min_frames")  # fmt: skip


def idle_tail_labels(
    ds, c_large: float, c_small: float, fraction: float, min_frames: int
) -> np.ndarray:
    """obs_rewards=idle_tail: c_large into each video's idle tail, c_small elsewhere."""
    from videorl.data.idle_tail import idle_tail_rewards, idle_tail_starts

    starts = idle_tail_starts(ds, fraction, min_frames)
    if all(start is None for start in starts):
        raise UserError(
            f"obs_rewards=idle_tail would label none of the {len(ds)} videos in {ds.path} as "
            f"in the goal: {idle_tail_missing(fraction, min_frames)}"
        )
    return idle_tail_rewards(list(ds.lengths), starts, c_large, c_small)


def check_groundtruth(ds, needed: dict[str, str], task: str | None) -> None:
    """The dataset must record, on the run's ``task`` (None: another one), every groundtruth/
    field the configuration reads."""
    if needed and task is None:
        raise UserError(
            f"--obs-data {ds.path} was recorded on {ds.manifest.task}, and its ground truth, "
            f"read by {', '.join(needed.values())}, does not carry over to another task; "
            "collect the dataset from the run's task"
        )
    have = set(ds.manifest.groundtruth_fields or []) if ds.has_groundtruth else set()
    missing = {key: setting for key, setting in needed.items() if key not in have}
    if missing:
        fields = ", ".join(f"{key} (read by {setting})" for key, setting in missing.items())
        raise UserError(
            f"--obs-data {ds.path} does not record groundtruth {fields}; use a dataset made by "
            "videorl collect, or the default setting"
        )


def check_matches(ds, spaces: Spaces, env: str, flag: str) -> None:
    """A dataset's observations must be what the task observes (kind and shape)."""
    pixels = ds.kind == "frames"
    if pixels != spaces.pixels:
        have = "video frames" if pixels else "state observations"
        want = "pixels" if spaces.pixels else "states"
        raise UserError(
            f"{flag} {ds.path} holds {have} but {env} observes {want}; collect the dataset "
            f"from the same task (videorl collect --env {env})"
        )
    if tuple(ds.obs_shape) != tuple(spaces.obs_shape):
        what = "image size" if pixels else "observation size"
        fix = "re-import with --size matching the task" if pixels else "collect it from this task"
        raise UserError(
            f"{flag} {ds.path} has {what} {ds.obs_shape} but {env} observes "
            f"{tuple(spaces.obs_shape)}; {fix}"
        )
