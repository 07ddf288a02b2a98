"""Goal-reaching rewards from a distance model (HOLD Eq. 4 as the authors ran it), subgoal
chains, and the goal-conditioned observation.

With goals g_1..g_K (K = 1 without subgoals), the current goal g_k and a distance d:

* cumulative (the default, what the authors ran; REFERENCE.md "HOLD in practice"):
  r = -(max(0, d(s', g_k) - d(g_k, g_k)) + C * (K - k)) / T + w_env * r_env
* instantaneous (the paper's ablation, Sec. III-B and Appendix C: "subtracting the distance
  at the previous time step", which did worse):
  r = -(d(s', g_k) - d(s, g_k)) / T + w_env * r_env
  It rewards progress and penalises moving away. A max(0, .) around the difference, as Eq. 4
  reads in print, would never reward progress (standing still would score the best, 0), so
  the difference itself is the reading that makes it an ablation of the same objective.

Subtracting d(g, g) gives the goal reward 0 and no state more. ``C`` is a constant cost per
subgoal still ahead; the chain moves to g_{k+1} once d(s', g_k) < threshold for
``switch_steps`` consecutive steps: the authors' rule (REFERENCE.md, d < 1 for 3 steps) on
the raw distance. For a model with d(g, g) > 0 (HOLD-R on untrimmed videos) that asks for
more than reaching the goal image's own distance; pick the threshold above d(g, g) (it is in
reward.json) to switch earlier. With ``schedule="time"`` the goal of step t is g_t (the TCN
baseline: follow a demonstration frame by frame) and there is no subgoal cost.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from videorl.rewards.hold import DistanceModel, model_device

FORMS = ("cumulative", "instantaneous")


class GoalDistance:
    """A distance model bound to a list of goal images: d(state history, g_k) as floats."""

    def __init__(self, model: DistanceModel, goals: list[np.ndarray]) -> None:
        if not goals:
            raise ValueError("need at least one goal image")
        self.model = model.eval()
        self.history = int(model.history)
        self.device = model_device(model)
        with torch.no_grad():
            frames = torch.from_numpy(np.stack(goals)).to(self.device)
            self.codes = [model.goal_code(frames[i : i + 1]) for i in range(len(goals))]
            own = [self.to_goal(np.stack([g] * self.history), i) for i, g in enumerate(goals)]
        self.self_distance = np.array(own, dtype=np.float64)  # d(g_k, g_k)
        self.goals = goals

    def __len__(self) -> int:
        return len(self.goals)

    @torch.no_grad()
    def to_goal(self, history: np.ndarray, k: int) -> float:
        """d(s, g_k) for ``history`` (history, H, W, 3) uint8 ending at s."""
        states = torch.from_numpy(np.ascontiguousarray(history)).to(self.device)[None]
        return float(self.model.distance(states, self.codes[k])[0])

    def excess(self, history: np.ndarray, k: int) -> float:
        """max(0, d(s, g_k) - d(g_k, g_k)): 0 at the goal, never below."""
        return max(0.0, self.to_goal(history, k) - float(self.self_distance[k]))

    def chain_cost(self) -> float:
        """Default constant cost per remaining subgoal: the largest excess distance from one
        subgoal to the next, so reaching a subgoal never lowers the reward."""
        if len(self) < 2:
            return 0.0
        return max(
            self.excess(np.stack([self.goals[k]] * self.history), k + 1)
            for k in range(len(self) - 1)
        )


class GoalReward:
    """The reward of one episode, step by step (see the module docstring)."""

    def __init__(
        self,
        goals: GoalDistance,
        scale: float,
        env_weight: float = 1.0,
        form: str = "cumulative",
        switch_threshold: float = 1.0,
        switch_steps: int = 3,
        subgoal_cost: float | None = None,
        schedule: str = "chain",
    ) -> None:
        if form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, got {form!r}")
        if schedule not in ("chain", "time"):
            raise ValueError(f"schedule must be chain or time, got {schedule!r}")
        if scale <= 0:
            raise ValueError(f"reward scale T must be > 0, got {scale}")
        self.goals, self.scale, self.env_weight, self.form = goals, scale, env_weight, form
        self.switch_threshold, self.switch_steps, self.schedule = (
            switch_threshold, switch_steps, schedule
        )  # fmt: skip
        chain = schedule == "chain"
        self.subgoal_cost = (goals.chain_cost() if subgoal_cost is None else subgoal_cost) * chain
        self._frames: deque[np.ndarray] = deque(maxlen=goals.history)
        self.k, self.t, self._close = 0, 0, 0
        self._last: tuple[int, float] | None = None  # (goal index, d(s, g) of the current s)

    # -- episode -------------------------------------------------------------------------
    def reset(self, obs: np.ndarray) -> None:
        self._frames.clear()
        self._frames.extend([obs] * self.goals.history)  # history repeats the first frame
        self.k, self.t, self._close, self._last = 0, 0, 0, None

    def _history(self) -> np.ndarray:
        return np.stack(self._frames)

    @property
    def current_goal(self) -> int:
        return self.k

    def _remaining(self) -> int:
        return len(self.goals) - 1 - self.k

    def state_cost(self) -> float:
        """Numerator of the cumulative reward at the current state (before dividing by T)."""
        return self.goals.excess(self._history(), self.k) + self.subgoal_cost * self._remaining()

    def step(self, next_obs: np.ndarray, env_reward: float) -> float:
        """Reward of the transition into ``next_obs``; then advance the goal if due. One
        distance-model pass per step: d(s', g_k) serves the reward and the switch test, and
        the instantaneous form reuses the previous step's d(s, g_k)."""
        if self.schedule == "time":  # s_{t+1} is compared with demo frame t+1
            self.k = min(self.t + 1, len(self.goals) - 1)
        if self.form == "instantaneous" and (self._last is None or self._last[0] != self.k):
            self._last = (self.k, self.goals.to_goal(self._history(), self.k))  # new goal
        self._frames.append(next_obs)
        d = self.goals.to_goal(self._history(), self.k)
        excess = max(0.0, d - float(self.goals.self_distance[self.k]))
        if self.form == "cumulative":
            learned = -(excess + self.subgoal_cost * self._remaining()) / self.scale
        else:  # the instantaneous ablation: the change of distance (see the module doc)
            learned = -(d - self._last[1]) / self.scale
        self._last = (self.k, d)
        self.t += 1
        if self.schedule == "chain" and self._remaining() > 0:
            self._close = self._close + 1 if d < self.switch_threshold else 0  # authors' rule
            if self._close >= self.switch_steps:
                self.k, self._close = self.k + 1, 0
        return learned + self.env_weight * float(env_reward)


def auto_scale(cost_at_reset: list[float], target: float = 1.0 / 3.0) -> float:
    """T such that the mean learned reward of initial states is ``-target`` (the paper's rule
    of thumb: about 1/3 in magnitude)."""
    mean = float(np.mean(cost_at_reset))
    if not mean > 0:
        raise ValueError("every reset state is already at the goal")
    return mean / target


class LearnedRewardWrapper(gym.Wrapper):
    """Replaces the task reward by ``GoalReward``; with ``goal_conditioned`` the current goal
    image is appended to the observation's channels (H, W, 3 + 3).

    ``info`` keeps the task's own reward as ``env_reward`` and the goal index as
    ``goal_index``. With ``relabel=False`` the task reward passes through unchanged (the eval
    environment of a goal-conditioned run)."""

    def __init__(
        self, env: gym.Env, reward: GoalReward, goal_conditioned: bool, relabel: bool = True
    ) -> None:
        super().__init__(env)
        self.reward_fn, self.goal_conditioned, self.relabel = reward, goal_conditioned, relabel
        if goal_conditioned:
            h, w, c = env.observation_space.shape
            self.observation_space = spaces.Box(0, 255, (h, w, 2 * c), dtype=np.uint8)

    def _obs(self, obs: np.ndarray) -> np.ndarray:
        if not self.goal_conditioned:
            return obs
        return np.concatenate([obs, self.reward_fn.goals.goals[self.reward_fn.k]], axis=-1)

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self.reward_fn.reset(obs)
        return self._obs(obs), {**info, "goal_index": 0}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, env_reward, terminated, truncated, info = self.env.step(action)
        learned = self.reward_fn.step(obs, float(env_reward))
        info = {**info, "env_reward": float(env_reward), "goal_index": self.reward_fn.k}
        reward = learned if self.relabel else float(env_reward)
        return self._obs(obs), reward, terminated, truncated, info
