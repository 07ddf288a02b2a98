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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from videorl.train import UserError, episode_seed, to_env_action

POLICIES = "expert, random, or checkpoint:RUN_DIR[@STEP]"


def parse_checkpoint_spec(spec: str) -> tuple[str, int | None]:
    """'checkpoint:runs/x@5000' -> ('runs/x', 5000)."""
    body = spec[len("checkpoint:") :]
    run_dir, at, step = body.partition("@")
    if not run_dir:
        raise UserError(f"--policy {spec}: name a run folder, e.g. checkpoint:runs/acrobot@10000")
    if at:
        if not step.isdigit():
            raise UserError(f"--policy {spec}: the step after @ must be an integer")
        return run_dir, int(step)
    return run_dir, None


def make_policy(
    spec: str, env, env_name: str, noise: float, rng: np.random.Generator
) -> Callable[[Any], Any]:
    """Build the rollout policy named by ``spec`` (see the module docstring)."""
    import gymnasium as gym

    discrete = isinstance(env.action_space, gym.spaces.Discrete)
    n_or_dim = int(env.action_space.n) if discrete else int(env.action_space.shape[0])
    if noise < 0 or (discrete and noise > 1):
        raise UserError(f"--noise must be in [0, 1] for discrete actions and >= 0, got {noise}")

    def random_action():
        if discrete:
            return int(rng.integers(n_or_dim))
        return rng.uniform(-1.0, 1.0, n_or_dim).astype(np.float32)

    if spec == "random":
        return lambda obs: random_action()
    if spec == "expert":
        from videorl.envs import expert_policy

        try:
            base = expert_policy(env)
        except ValueError as exc:
            raise UserError(str(exc)) from None
    elif spec.startswith("checkpoint:"):
        from videorl.evaluate import load_policy
        from videorl.train import RunDir

        run_dir, step = parse_checkpoint_spec(spec)
        run_env = RunDir(run_dir).read_config().env
        if run_env != env_name:
            raise UserError(
                f"{run_dir} was trained on {run_env}, not {env_name}; pass --env {run_env}"
            )
        _, _, base = load_policy(run_dir, env, step, deterministic=False)
    else:
        raise UserError(f"unknown --policy {spec!r}; use {POLICIES}")

    if noise == 0:
        return base

    def noisy(obs):
        action = base(obs)
        if discrete:
            return random_action() if rng.random() < noise else int(action)
        action = np.asarray(action, dtype=np.float32)
        return np.clip(action + rng.normal(0.0, noise, action.shape), -1.0, 1.0).astype(np.float32)

    return noisy


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
    from tqdm import tqdm

    from videorl.data.dataset import DatasetError, DatasetWriter
    from videorl.envs import make_env

    if episodes < 1:
        raise UserError(f"--episodes must be positive, got {episodes}")
    if Path(out).exists():
        raise UserError(f"{out} already exists; choose a new --out (datasets are not overwritten)")
    env = _make_env_in_domain(make_env, env_name, domain)
    torch.manual_seed(seed)  # checkpoint policies sample their actions from torch
    rng = np.random.default_rng([seed, 3])
    act = make_policy(policy, env, env_name, noise, rng)
    pixels = env.observation_space.dtype == np.uint8 and len(env.observation_space.shape) == 3
    fps = float(env.metadata.get("render_fps") or 10)
    provenance = {"command": command or " ".join(sys.argv), "seed": seed, "policy": policy,
                  "noise": noise}  # fmt: skip
    try:
        writer = DatasetWriter(
            out, task=env_name, domain=domain, source="collected", fps=fps,
            provenance=provenance, kind="frames" if pixels else "observations",
        )  # fmt: skip
    except DatasetError as exc:
        raise UserError(str(exc)) from None
    with writer:
        for e in tqdm(range(episodes), disable=not progress, unit="episode", desc="collect"):
            obs, _ = env.reset(seed=episode_seed(seed, e))
            observations, actions, rewards = [obs], [], []
            done, info = False, {}
            while not done:
                action = act(obs)
                obs, reward, terminated, truncated, info = env.step(to_env_action(env, action))
                observations.append(obs)
                actions.append(np.atleast_1d(np.asarray(action, dtype=np.float32)))
                rewards.append(float(reward))
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
                },
            )
    return Path(out)


def _make_env_in_domain(make_env, env_name: str, domain: str):
    from videorl.envs import UnknownEnvError

    try:
        return make_env(env_name, domain=domain)
    except UnknownEnvError as exc:
        raise UserError(str(exc)) from None
    except ValueError as exc:  # unknown domain, or a domain the task does not have
        raise UserError(str(exc).splitlines()[0]) from None


def preview(env_name: str, path: str | Path, seed: int = 0) -> Path:
    """One frame per observation domain side by side, as a PNG."""
    from videorl.envs import UnknownEnvError, preview_domains

    if Path(path).suffix.lower() != ".png":
        raise UserError(f"--preview must name a .png file, got {path}")
    try:
        return preview_domains(env_name, path, seed=seed, steps=20)
    except UnknownEnvError as exc:
        raise UserError(str(exc)) from None
