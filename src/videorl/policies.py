"""Rollout policies by name: a run's checkpoint, the scripted expert, or random actions.

Shared by `videorl eval` and `videorl collect`. Policies act in [-1, 1]^d (continuous) or
return an action index (discrete); the caller maps them to the env with ``to_env_action``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from videorl import checkpoint
from videorl.agents.registry import make_method
from videorl.errors import UserError
from videorl.rollout import spaces_from_env
from videorl.rundir import RunDir


def load_policy(run_dir: str | Path, env, step: int | None = None, deterministic: bool = True):
    """(config, step, policy) of a run at its latest (or a given) saved step."""
    cfg, step, agent = load_method(run_dir, env, step)
    return cfg, step, (lambda obs: agent.act(obs, deterministic=deterministic))


def load_method(run_dir: str | Path, env, step: int | None = None):
    """(config, step, method in eval mode) of a run at its latest (or a given) policy
    snapshot, its networks checked against ``env``'s observations and actions."""
    run = RunDir(run_dir)
    cfg = run.read_config()
    snaps = dict(run.snapshots())
    if not snaps:
        raise UserError(f"no checkpoint in {run.checkpoints}; train the run first")
    if step is None:
        step = max(snaps)
    elif step not in snaps:
        raise UserError(f"{run.path} has no checkpoint at step {step}; saved: {sorted(snaps)}")
    spaces = spaces_from_env(env)
    agent = make_method(spaces, cfg, torch.device("cpu"))
    nets, own = checkpoint.load(snaps[step])["nets"], agent.state_dict()
    if own.keys() != nets.keys() or any(own[k].shape != v.shape for k, v in nets.items()):
        kind = " discrete actions" if spaces.discrete else "-D actions"
        raise UserError(
            f"{run.path} was trained on {cfg.run.env}, and its networks do not fit this "
            f"task's observations {spaces.obs_shape} and {spaces.action_dim}{kind}; roll it "
            f"out on {cfg.run.env} or a task with the same observations and actions"
        )
    agent.load_state_dict(nets)
    agent.eval()
    return cfg, step, agent


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
    if not 0 <= noise < float("inf") or (discrete and noise > 1):
        raise UserError(
            f"--noise must be in [0, 1] for discrete actions and finite >= 0, got {noise}"
        )

    def random_action():
        if discrete:
            return int(rng.integers(n_or_dim))
        return rng.uniform(-1.0, 1.0, n_or_dim).astype(np.float32)

    if spec == "random":
        return lambda obs: random_action()
    if spec == "expert":
        from videorl.envs import expert_policy

        base = expert_policy(env)
    elif spec.startswith("checkpoint:"):
        run_dir, step = parse_checkpoint_spec(spec)
        run_env = RunDir(run_dir).read_config().run.env
        if run_env != env_name:
            raise UserError(
                f"{run_dir} was trained on {run_env}, not {env_name}; pass --env {run_env}"
            )
        if RunDir(run_dir).read_config().reward.goal_conditioned:
            raise UserError(
                f"{run_dir} is goal-conditioned (it acts on the goal image too); collect from "
                "a run trained without goal_conditioned"
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
