"""A run's reward from its reward section, in one call: ``with_reward`` wraps a task with the
reward the section names, a HOLD model, a baseline distance, or the task's own.

Reward specs (``--reward`` / ``reward`` key; ``obs_rewards`` of RLV takes the same):

* ``env``: the task's own reward.
* ``hold:MODEL_DIR``: a HOLD-R or HOLD-C model from ``videorl reward train``.
* ``pixel-l2``: d(s, g) = ||s - g||_2 over pixels scaled to [0, 1].
* ``embedding:ENCODER.pt``: d(s, g) = ||f(s) - f(g)||_2 under a user's encoder (the R3M-style
  baseline; see ``baselines.py`` for the file contract).
* ``tcn:SOURCE``: TCN's reward, following a demonstration video's embeddings frame by frame;
  SOURCE is a HOLD-C model folder or an encoder file, the video is the ``demo`` key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym

from videorl.config import RewardConfig
from videorl.rewards.baselines import PixelDistance, load_encoder
from videorl.rewards.goals import RewardSpecError, demo_frames, read_goal
from videorl.rewards.hold import DistanceModel, HoldC, load_distance_model
from videorl.rewards.shaping import GoalDistance, GoalReward, LearnedRewardWrapper, auto_scale

KINDS = ("hold", "pixel-l2", "embedding", "tcn")


def with_reward(
    env: gym.Env, section: RewardConfig, reset_seeds: list[int], train: bool = True
) -> tuple[gym.Env, dict[str, Any] | None]:
    """(env, resolved reward info or None): ``env`` with the reward of ``section``. With
    ``train=False`` (an evaluation env) the task's reward passes through, and a
    goal-conditioned policy still sees its goal image beside the observation."""
    if section.reward == "env" or (not train and not section.goal_conditioned):
        return env, None
    reward, info = build_goal_reward(section, section.reward, env, reset_seeds, train)
    return LearnedRewardWrapper(env, reward, section.goal_conditioned, relabel=train), info


def parse_spec(spec: str) -> tuple[str, str]:
    """``'hold:DIR'`` -> ('hold', 'DIR'); ``'pixel-l2'`` -> ('pixel-l2', '')."""
    kind, _, arg = spec.partition(":")
    if kind not in KINDS:
        raise RewardSpecError(
            f"unknown reward {spec!r}; use env, hold:MODEL_DIR, pixel-l2, "
            "embedding:ENCODER.pt or tcn:MODEL_DIR|ENCODER.pt"
        )
    if (kind == "pixel-l2") != (arg == ""):
        form = "pixel-l2" if kind == "pixel-l2" else f"{kind}:PATH"
        raise RewardSpecError(f"reward {spec!r} is malformed; write it as {form}")
    return kind, arg


def load_distance(spec: str, image_shape: tuple[int, ...]) -> DistanceModel:
    """The distance model a reward spec names, checked against the task's image shape."""
    kind, arg = parse_spec(spec)
    if kind == "pixel-l2":
        return PixelDistance()
    if kind == "embedding" or (kind == "tcn" and Path(arg).is_file()):
        return load_encoder(arg, image_shape)
    model = load_distance_model(arg)
    if kind == "tcn" and not isinstance(model, HoldC):
        raise RewardSpecError(
            f"tcn:{arg} is a {model.kind} model; TCN needs an embedding (hold-c) or an encoder"
        )
    model.check_image_shape(image_shape, "the task")
    return model


def build_goal_reward(
    cfg: RewardConfig,
    spec: str,
    env: gym.Env,
    reset_seeds: list[int],
    measure_scale: bool = True,
    flag: str = "--reward",
) -> tuple[GoalReward, dict[str, Any]]:
    """The ``GoalReward`` that section ``cfg`` asks for with reward ``spec`` (given as
    ``flag``) on ``env`` (the unwrapped task). With ``reward_scale: auto``, T is measured over
    the reset states of ``reset_seeds`` (so that their mean learned reward is -1/3); the
    returned dict records what was resolved (written to ``RUN_DIR/reward.json``)."""
    shape = tuple(env.observation_space.shape or ())
    if len(shape) != 3:  # a state task observes a 1-D float vector
        task = getattr(env.spec, "name", None) or "this task"
        raise RewardSpecError(
            f"{flag} {spec} compares camera images, but {task} observes states (shape "
            f"{shape}); pick a visual task (videorl envs lists them, e.g. visual-pusher)"
        )
    model = load_distance(spec, shape)
    kind, _ = parse_spec(spec)
    if kind == "tcn":
        goals, schedule = demo_frames(cfg.demo, cfg.demo_episode, shape), "time"
    else:
        goals, schedule = [read_goal(p, shape) for p in cfg.goal], "chain"
    distance = GoalDistance(model, goals)

    def make(scale: float) -> GoalReward:
        return GoalReward(
            distance, scale, cfg.env_reward_weight, cfg.reward_form, cfg.subgoal_threshold,
            cfg.subgoal_steps, cfg.subgoal_cost, schedule,
        )  # fmt: skip

    info: dict[str, Any] = {"reward": spec, "goals": len(goals), "schedule": schedule}
    if cfg.reward_scale != "auto" or not measure_scale:
        scale = 1.0 if cfg.reward_scale == "auto" else float(cfg.reward_scale)
    else:
        probe, costs = make(1.0), []
        for seed in reset_seeds:
            obs, _ = env.reset(seed=seed)
            probe.reset(obs)
            if schedule == "time":  # TCN: scale by the distance to the demo's end
                probe.k = len(goals) - 1
            costs.append(probe.state_cost())
        try:
            scale = auto_scale(costs)
        except ValueError:
            raise RewardSpecError(
                "every reset state is at the goal under this distance; pick another goal image"
            ) from None
        info["reset_cost"] = [float(c) for c in costs]
    reward = make(scale)
    info.update(
        scale=float(scale),
        goal_self_distance=[float(d) for d in distance.self_distance],
        subgoal_cost=float(reward.subgoal_cost),
        form=cfg.reward_form,
        env_reward_weight=float(cfg.env_reward_weight),
    )
    return reward, info
