"""`videorl collect`: roll out a policy in an observation domain and write a dataset.

Lives beside the training loop rather than in ``data/`` (as DESIGN.md sketches) because it
rolls out trained checkpoints, which means building agents; ``data/`` stays below agents.

Policies: ``expert`` (the task's scripted expert), ``random`` (uniform actions), and
``checkpoint:RUN_DIR[@STEP]`` (a trained SAC run at its latest or a given saved step,
acting stochastically as it did during training, which is what RLV's "observations from
different points of training" are). ``--noise`` perturbs expert and checkpoint actions:
Gaussian with that standard deviation on continuous actions (clipped to [-1, 1]); on
discrete actions, a uniformly random action with that probability.

Episode e is reset with the seed ``episode_seed(seed, e)``, and every random draw comes from
generators seeded by ``seed``, so a seed makes the dataset byte-identical.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from videorl.atomic import check_writable
from videorl.errors import UserError
from videorl.policies import make_policy
from videorl.rollout import episode_seed, make_env, to_env_action


def collect(
    env_name: str,
    policy: str,
    episodes: int,
    out: str | Path,
    *,
    noise: float = 0.0,
    domain: str = "robot",
    seed: int = 0,
    progress: bool = True,
    command: str = "",
) -> Path:
    """Roll out ``episodes`` episodes and write them as a dataset at ``out``."""
    from videorl.data.writer import DatasetWriter
    from videorl.progress import progress as progress_bar

    if episodes < 1:
        raise UserError(f"--episodes must be positive, got {episodes}")
    if Path(out).exists():
        raise UserError(f"{out} already exists; choose a new --out (datasets are not overwritten)")
    env = make_env(env_name, domain=domain)
    torch.manual_seed(seed)  # checkpoint policies sample their actions from torch
    rng = np.random.default_rng([seed, 3])
    act = make_policy(policy, env, env_name, noise, rng)
    pixels = env.observation_space.dtype == np.uint8 and len(env.observation_space.shape) == 3
    fps = float(env.metadata.get("render_fps") or 10)
    provenance = {"command": command or " ".join(sys.argv), "seed": seed, "policy": policy,
                  "noise": noise}  # fmt: skip
    writer = DatasetWriter(
        out, task=env_name, domain=domain, source="collected", fps=fps,
        provenance=provenance, kind="frames" if pixels else "observations",
    )  # fmt: skip
    with writer:
        for e in progress_bar(
            range(episodes), disable=not progress, unit="episode", desc="collect"
        ):
            obs, _ = env.reset(seed=episode_seed(seed, e))
            observations, actions, rewards, terms = [obs], [], [], []
            done, info = False, {}
            while not done:
                action = act(obs)
                obs, reward, terminated, truncated, info = env.step(to_env_action(env, action))
                observations.append(obs)
                actions.append(np.atleast_1d(np.asarray(action, dtype=np.float32)))
                rewards.append(float(reward))
                terms.append(bool(terminated))
                done = terminated or truncated
            data = np.stack(observations)
            data = data if pixels else data.astype(np.float32)
            success = info.get("success")
            writer.add_episode(
                data,
                success=None if success is None else bool(success),
                ret=float(np.sum(rewards)),
                groundtruth={
                    "actions": np.stack(actions).astype(np.float32),
                    "rewards": np.asarray(rewards, dtype=np.float32),
                    "terminated": np.asarray(terms, dtype=bool),
                },
            )
    return Path(out)


def preview(env_name: str, path: str | Path, seed: int = 0) -> Path:
    """One frame per observation domain side by side, as a PNG."""
    from videorl.envs.preview import preview_domains

    check_writable(path, "--preview")
    return preview_domains(env_name, path, seed=seed, steps=20)


def render_goal(
    env_name: str, out: str | Path, *, seed: int = 0, domain: str = "robot", tries: int = 20
) -> tuple[Path, int]:
    """Write the last observation of the first successful expert episode as a PNG goal image
    (what ``--goal`` reads). Returns (path, the episode seed used)."""
    from videorl.envs import expert_policy
    from videorl.rewards.goals import write_png

    out = Path(out)
    if out.suffix.lower() != ".png":
        raise UserError(f"--out must name a .png file, got {out}")
    check_writable(out, "--out")
    env = make_env(env_name, domain=domain)
    try:
        if not (env.observation_space.dtype == np.uint8 and len(env.observation_space.shape) == 3):
            raise UserError(f"{env_name} observes states, not images; goals are for visual-* tasks")
        act = expert_policy(env)
        for attempt in range(tries):
            episode = episode_seed(seed, attempt)
            obs, info = env.reset(seed=episode)
            done = False
            while not done:
                obs, _, terminated, truncated, info = env.step(act(obs))
                done = terminated or truncated
            if info.get("success"):
                return write_png(np.asarray(obs), out), episode
    finally:
        env.close()
    raise UserError(f"the {env_name} expert did not succeed in {tries} episodes; no goal written")
