"""`videorl eval`: replay a run's latest policy, or a scripted policy, optionally to video."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from videorl.atomic import atomic_path, check_writable
from videorl.errors import UserError
from videorl.policies import load_policy, make_policy
from videorl.rollout import EVAL_SEED_OFFSET, episode_seed, make_env, make_task_env, run_episode
from videorl.rundir import RunDir


def _check_video_path(video: str) -> Path:
    path = Path(video)
    if path.suffix.lower() != ".mp4":
        raise UserError(f"--video must name an .mp4 file, got {video}")
    return check_writable(path, "--video")


def _check_renders(env) -> None:
    """Fail before any rollout if the environment cannot draw frames for a video."""
    import gymnasium as gym

    try:
        env.reset(seed=0)
        frame = env.render()
    except gym.error.DependencyNotInstalled as exc:
        first = str(exc).splitlines()[0]
        raise UserError(f"cannot render this environment for --video: {first}") from None
    if not isinstance(frame, np.ndarray) or frame.ndim != 3:
        raise UserError("this environment does not render RGB frames; drop --video")


def write_video(frames: list[np.ndarray], path: Path, fps: int = 20) -> None:
    """Write RGB frames to an mp4, atomically; an odd width or height (H.264 needs even ones)
    gains one repeated edge row or column."""
    from videorl.data.video_io import write_video as encode

    clip = np.stack(frames)
    h, w = clip.shape[1:3]
    clip = np.pad(clip, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    with atomic_path(path) as tmp:
        encode(tmp, clip, fps=fps)


def evaluate_command(
    run_dir: str | None,
    env_name: str | None,
    policy: str | None,
    episodes: int,
    video: str | None,
    seed: int,
) -> int:
    if run_dir and policy:
        raise UserError("give either RUN_DIR or --env with --policy, not both")
    if not run_dir and not (env_name and policy):
        raise UserError("give a RUN_DIR, or --env ENV --policy {expert,random}")
    if episodes < 1:
        raise UserError(f"--episodes must be positive, got {episodes}")
    video_path = _check_video_path(video) if video else None
    if run_dir:
        cfg = RunDir(run_dir).read_config()
        # A goal-conditioned policy sees its goal image beside the observation.
        env, _ = make_task_env(env_name or cfg.run.env, cfg.reward, cfg.run.seed, train=False)
        _, step, act = load_policy(run_dir, env)
        label = f"{run_dir} at step {step}"
    else:
        env = make_env(env_name)
        act = make_policy(policy, env, env_name, 0.0, np.random.default_rng(seed))
        label = f"{policy} policy on {env_name}"
    if video_path is not None:
        _check_renders(env)
    frames: list[np.ndarray] | None = [] if video_path else None
    returns, successes = [], []
    for j in range(episodes):
        ret, success, length = run_episode(
            env, act, episode_seed(seed, EVAL_SEED_OFFSET + j), frames
        )
        returns.append(ret)
        successes.append(success)
        flag = "n/a" if success is None else str(success)
        print(f"episode {j}: return {ret:.2f}, length {length}, success {flag}")
    summary = f"{label}: mean return {np.mean(returns):.2f} over {episodes} episodes"
    if all(s is not None for s in successes):
        summary += f", success rate {np.mean(successes):.2f}"
    print(summary)
    if video_path is not None and frames:
        write_video(frames, video_path)
        print(f"video: {video_path} ({len(frames)} frames)")
    return 0
