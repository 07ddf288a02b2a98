"""RLV's Acrobot: gymnasium's Acrobot-v1 with a 100-step horizon, an expert and a numpy renderer.

The dynamics, observation (cos/sin of both angles and both velocities, float32), the three
discrete torques and the reward (-1 per step, 0 on reaching the goal, where the episode
terminates) are gymnasium's, unchanged. Two tasks share them:

* ``acrobot`` (:class:`AcrobotEnv`): gymnasium's ``Discrete(3)`` action, torque -1, 0, +1.
* ``acrobot-continuous`` (:class:`ContinuousAcrobotEnv`): Acrobot as RLV's authors ran it, a
  continuous action in [-1, 1] binned at -0.5 / 0.5 into the same three torques
  (:func:`torque_index`), so continuous SAC can act on it. Everything else is identical: the same
  seed and the same torques give the same episode in both tasks.

Rendering is done with numpy rather than gymnasium's pygame renderer, so that videos need no
extra dependency and no display. The drawing takes the observation domains that make sense in
2-D (recolor, lighting, camera; see ``appearance.py``); there is no arm to replace with a hand.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control import acrobot as gym_acrobot

from videorl.envs.appearance import Appearance, DomainRandom, check_domain, sample_appearance
from videorl.envs.domain_edits import ACROBOT_DOMAINS, AcrobotLook


class AcrobotEnv(gym_acrobot.AcrobotEnv):
    """Acrobot-v1 with ``truncated`` at step 100, ``info["success"]`` and ``expert_action``."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 15}
    HORIZON: ClassVar[int] = 100
    TASK_NAME: ClassVar[str] = "acrobot"
    """The task's registry name (error messages name it)."""

    # Expert: depth-limited search over torque sequences with an energy-regulating value.
    PLAN_DEPTH: ClassVar[int] = 3
    TARGET_ENERGY: ClassVar[float] = 25.0
    """Aimed-for total energy (J); the upright pose has 19.6 J, a little more carries the tip
    over the goal line fast."""
    SPIN_PENALTY: ClassVar[float] = 0.05
    """Cost on the second joint's squared velocity: without it, the cheapest way to gain energy
    is to spin the lower link, which never lifts the tip."""

    def __init__(
        self,
        render_mode: str | None = "rgb_array",
        render_size: int = 128,
        domain: str = "robot",
    ) -> None:
        check_domain(domain, available=ACROBOT_DOMAINS, env_name=self.TASK_NAME)
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be 'rgb_array' or None, got {render_mode!r}")
        super().__init__(render_mode=None)  # the parent's pygame path is never used
        self.render_mode = render_mode
        self.render_size = int(render_size)
        self.domain = domain
        self._domain_random = DomainRandom(domain)
        self.appearance = Appearance(domain=domain)
        self._look = AcrobotLook()
        self._steps = -1
        self._over = False

    # ------------------------------------------------------------------ gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start hanging down (all four state variables ~ U[-0.1, 0.1], gymnasium's default).

        The domain's look is drawn from its own generator, never from ``np_random``.
        """
        obs, info = super().reset(seed=seed, options=options)
        generators = self._domain_random.episode(seed, self.np_random_seed)
        self.appearance = sample_appearance(self.domain, generators, n_objects=2)
        self._look = AcrobotLook.for_appearance(self.appearance)
        self._steps = 0
        self._over = False
        return obs, {**info, "success": False}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply torque -1, 0 or +1 (action 0, 1, 2) for 0.2 s."""
        self._check_running()
        value = np.asarray(action)
        if value.size != 1 or value.item() not in (0, 1, 2):
            raise ValueError(f"action must be 0, 1 or 2, got {action!r}")
        obs, reward, terminated, _, info = super().step(int(value.item()))
        self._steps += 1
        truncated = self._steps == self.HORIZON
        self._over = bool(terminated) or truncated
        return obs, float(reward), bool(terminated), truncated, {**info, "success": terminated}

    def _check_running(self) -> None:
        """Raise RuntimeError unless an episode is under way (reset, not yet over)."""
        if self._steps < 0:
            raise RuntimeError("call reset() before step()")
        if self._over:
            raise RuntimeError("episode is over (goal reached or horizon hit): call reset()")

    # ------------------------------------------------------------------ expert
    def _simulate(self, state: np.ndarray, action: int) -> np.ndarray:
        """One step of gymnasium's dynamics from ``state`` without touching the environment."""
        augmented = np.append(state, self.AVAIL_TORQUE[action])
        nxt = gym_acrobot.rk4(self._dsdt, augmented, [0, self.dt])
        nxt[0] = gym_acrobot.wrap(nxt[0], -np.pi, np.pi)
        nxt[1] = gym_acrobot.wrap(nxt[1], -np.pi, np.pi)
        nxt[2] = gym_acrobot.bound(nxt[2], -self.MAX_VEL_1, self.MAX_VEL_1)
        nxt[3] = gym_acrobot.bound(nxt[3], -self.MAX_VEL_2, self.MAX_VEL_2)
        return nxt

    def energy(self, state: np.ndarray) -> float:
        """Total mechanical energy (J) of the two-link pendulum, zero potential at the pivot."""
        theta1, theta2, dtheta1, dtheta2 = (float(v) for v in state[:4])
        m1, m2 = self.LINK_MASS_1, self.LINK_MASS_2
        l1, lc1, lc2 = self.LINK_LENGTH_1, self.LINK_COM_POS_1, self.LINK_COM_POS_2
        i1 = i2 = self.LINK_MOI
        v1_sq = (lc1 * dtheta1) ** 2
        v2_sq = (
            (l1 * dtheta1) ** 2
            + (lc2 * (dtheta1 + dtheta2)) ** 2
            + 2 * l1 * lc2 * dtheta1 * (dtheta1 + dtheta2) * np.cos(theta2)
        )
        kinetic = 0.5 * (m1 * v1_sq + m2 * v2_sq + i1 * dtheta1**2 + i2 * (dtheta1 + dtheta2) ** 2)
        height1 = -lc1 * np.cos(theta1)
        height2 = -l1 * np.cos(theta1) - lc2 * np.cos(theta1 + theta2)
        potential = 9.8 * (m1 * height1 + m2 * height2)
        return kinetic + potential

    def _value(self, state: np.ndarray, depth: int) -> float:
        """Best achievable value within ``depth`` more steps (goal reached beats everything)."""
        best = -np.inf
        for action in range(3):
            nxt = self._simulate(state, action)
            if -np.cos(nxt[0]) - np.cos(nxt[0] + nxt[1]) > 1.0:
                return 1e6 + depth  # sooner is better
            if depth == 1:
                value = -abs(self.energy(nxt) - self.TARGET_ENERGY)
                value -= self.SPIN_PENALTY * float(nxt[3]) ** 2
            else:
                value = self._value(nxt, depth - 1)
            best = max(best, value)
        return best

    def expert_action(self) -> int:
        """Energy pumping by lookahead: regulate energy toward ``TARGET_ENERGY`` without
        spinning the lower link, and take any torque sequence that reaches the goal within
        ``PLAN_DEPTH`` steps. Succeeds within 100 steps on 97 of seeds 0..99 (all of 0..19).
        """
        if self.state is None:
            raise RuntimeError("call reset() before expert_action()")
        state = np.asarray(self.state, dtype=np.float64)
        values = []
        for action in range(3):
            nxt = self._simulate(state, action)
            if -np.cos(nxt[0]) - np.cos(nxt[0] + nxt[1]) > 1.0:
                return action
            values.append(self._value(nxt, self.PLAN_DEPTH - 1))
        return int(np.argmax(values))

    # ------------------------------------------------------------------ rendering
    def render(self) -> np.ndarray | None:  # type: ignore[override]
        """Draw the two links (teal), joints (yellow) and the goal line, like gymnasium's view.

        The domain's look sets the colours, the light (brightness, colour, a gradient across the
        image) and the view (where the pivot is drawn, the zoom); the robot look is the plain
        drawing.
        """
        if self.render_mode is None:
            return None
        if self.state is None:
            raise RuntimeError("call reset() before render()")
        look = self._look
        size = self.render_size
        extent = self.LINK_LENGTH_1 + self.LINK_LENGTH_2 + 0.2
        scale = size / (2 * extent) * look.zoom
        theta1, theta2 = float(self.state[0]), float(self.state[1])
        # World frame: pivot at the origin, y up; link 1 hangs down at theta1 = 0.
        p1 = np.array([np.sin(theta1), -np.cos(theta1)]) * self.LINK_LENGTH_1
        p2 = p1 + np.array([np.sin(theta1 + theta2), -np.cos(theta1 + theta2)]) * (
            self.LINK_LENGTH_2
        )
        coords = (np.arange(size) + 0.5 - size / 2) / scale
        x, y = np.meshgrid(coords, -coords)  # image rows run top to bottom
        x, y = x - look.shift[0], y - look.shift[1]
        image = np.empty((size, size, 3), dtype=np.uint8)
        image[:] = _rgb8(look.background)
        image[np.abs(y - 1.0) < 0.5 / scale] = _rgb8(look.goal_line)  # goal line: tip height 1
        for a, b in ((np.zeros(2), p1), (p1, p2)):
            image[_segment_distance(x, y, a, b) < 0.1] = _rgb8(look.links)
        for joint in (np.zeros(2), p1):
            image[np.hypot(x - joint[0], y - joint[1]) < 0.1] = _rgb8(look.joints)
        if self.appearance.lighting is not None:
            image = _light(image, look)
        return image

    def close(self) -> None:
        """Nothing to free (no pygame window)."""


# ------------------------------------------------------------------ continuous variant
BIN_EDGE = 0.5
"""RLV's bin edges for a continuous Acrobot action are -BIN_EDGE and +BIN_EDGE."""
BIN_CENTRES: tuple[float, float, float] = (-1.0, 0.0, 1.0)
"""The continuous action that stands for each discrete torque index (0, 1, 2): its bin's centre,
which is also the torque applied."""


def torque_index(value: float) -> int:
    """RLV's binning of a continuous action into gymnasium's torque index.

    ``value < -0.5`` -> 0 (torque -1); ``-0.5 <= value <= 0.5`` -> 1 (torque 0, the middle bin
    includes both edges); ``value > 0.5`` -> 2 (torque +1). Values outside [-1, 1] fall in the
    outer bins, exactly as if they were clipped first.
    """
    if value < -BIN_EDGE:
        return 0
    if value > BIN_EDGE:
        return 2
    return 1


class ContinuousAcrobotEnv(AcrobotEnv):
    """``acrobot-continuous``: the Acrobot with RLV's continuous action ``Box(-1, 1, (1,))``.

    The action is binned into the three torques by :func:`torque_index`; dynamics, observation,
    horizon, reward, success, rendering and domains are :class:`AcrobotEnv`'s.
    """

    TASK_NAME: ClassVar[str] = "acrobot-continuous"

    def __init__(self, **kwargs: Any) -> None:
        """Takes :class:`AcrobotEnv`'s arguments."""
        super().__init__(**kwargs)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), dtype=np.float32)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply the torque of ``action``'s bin (see :func:`torque_index`) for 0.2 s.

        ``action`` is one number (shape (1,), or a scalar); a non-finite value or any other
        shape raises ValueError. Values outside [-1, 1] are clipped, as for any Box action; the
        bin, and so the torque, is the same either way.
        """
        self._check_running()
        value = np.asarray(action, dtype=np.float64).reshape(-1)
        if value.shape != self.action_space.shape:
            raise ValueError(f"action must have shape {self.action_space.shape}, got {value.shape}")
        if not np.isfinite(value[0]):
            raise ValueError(f"action must be finite, got {value}")
        clipped = float(np.clip(value[0], self.action_space.low[0], self.action_space.high[0]))
        return super().step(torque_index(clipped))

    def expert_action(self) -> np.ndarray:  # type: ignore[override]
        """The discrete expert's torque as a continuous action: the centre of its bin, -1.0,
        0.0 or +1.0, float32 of shape (1,)."""
        return np.array([BIN_CENTRES[super().expert_action()]], dtype=np.float32)


def _segment_distance(x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel distance to the segment a-b (vectorised rasteriser for a thick line)."""
    ab = b - a
    t = ((x - a[0]) * ab[0] + (y - a[1]) * ab[1]) / max(float(ab @ ab), 1e-12)
    t = np.clip(t, 0.0, 1.0)
    return np.hypot(x - (a[0] + t * ab[0]), y - (a[1] + t * ab[1]))


def _rgb8(rgb: tuple[float, float, float]) -> np.ndarray:
    return np.round(np.asarray(rgb) * 255.0).astype(np.uint8)


def _light(image: np.ndarray, look: AcrobotLook) -> np.ndarray:
    """Relight a drawing: overall gain, a colour cast and a brightness gradient toward the light."""
    size = image.shape[0]
    u = (np.arange(size) + 0.5) / size * 2.0 - 1.0
    x, y = np.meshgrid(u, -u)
    toward = np.cos(look.light_angle) * x + np.sin(look.light_angle) * y
    shade = look.gain * (1.0 + look.light_falloff * toward)
    lit = image * shade[..., None] * np.asarray(look.tint)
    return np.clip(np.round(lit), 0, 255).astype(np.uint8)
