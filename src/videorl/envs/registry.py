"""Task names, their facts, and the one way to build an environment from a name.

Import-light on purpose: the command line lists tasks and validates names without paying for
MuJoCo (or Meta-World's assets) until an environment is actually made. Each task is also
registered with gymnasium under ``videorl/<name>-v0`` so ``gymnasium.make`` works on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from videorl.envs.appearance import check_domain
from videorl.errors import UserError

GYM_PREFIX = "gym:"
GYM_NAMESPACE = "videorl"


class UnknownEnvError(UserError):
    """Raised for an environment name that is neither a videorl task nor a gymnasium id."""


@dataclass(frozen=True)
class TaskSpec:
    """What a task is, in words a person reads (``videorl envs`` prints these)."""

    name: str
    observation: str
    action: str
    horizon: int
    success: str
    pixels: bool


@dataclass(frozen=True)
class _Entry:
    spec: TaskSpec
    entry_point: str
    kwargs: dict[str, Any]


_PUSHER_SUCCESS = "puck within 0.03 (L1) of the goal (0.0, 0.75); reward 1 on every step there"
_ACROBOT_OBSERVATION = "state (6,) float32: cos/sin of both joint angles, both velocities"
_ACROBOT_SUCCESS = "tip above the goal line; reward -1 per step, 0 at the goal (terminates)"
_DVD_OBSERVATION = "image (48, 48, 3) uint8 RGB, one tabletop: drawer, faucet, mug and gripper"
_DVD_ACTION = "Box(-1, 1, (3,)): end-effector xyz, 0.02 m per unit, fingers closed"
_ENTRIES: dict[str, _Entry] = {
    entry.spec.name: entry
    for entry in (
        _Entry(
            TaskSpec(
                name="acrobot",
                observation=_ACROBOT_OBSERVATION,
                action="Discrete(3): torque -1, 0, +1 on the elbow",
                horizon=100,
                success=_ACROBOT_SUCCESS,
                pixels=False,
            ),
            "videorl.envs.acrobot:AcrobotEnv",
            {},
        ),
        _Entry(
            TaskSpec(
                name="acrobot-continuous",
                observation=_ACROBOT_OBSERVATION,
                action=(
                    "Box(-1, 1, (1,)): torque -1 below -0.5, 0 in [-0.5, 0.5], +1 above 0.5 "
                    "(RLV's binning)"
                ),
                horizon=100,
                success=_ACROBOT_SUCCESS,
                pixels=False,
            ),
            "videorl.envs.acrobot:ContinuousAcrobotEnv",
            {},
        ),
        _Entry(
            TaskSpec(
                name="state-pusher",
                observation="state (5,) float32: hand xyz, puck xy",
                action="Box(-1, 1, (2,)): end-effector xy, 0.02 m per unit, z held at 0.05",
                horizon=100,
                success=_PUSHER_SUCCESS,
                pixels=False,
            ),
            "videorl.envs.pusher:PusherEnv",
            {"pixels": False},
        ),
        _Entry(
            TaskSpec(
                name="visual-pusher",
                observation="image (48, 48, 3) uint8 RGB, top-down table view",
                action="Box(-1, 1, (2,)): end-effector xy, 0.02 m per unit, z held at 0.05",
                horizon=100,
                success=_PUSHER_SUCCESS,
                pixels=True,
            ),
            "videorl.envs.pusher:PusherEnv",
            {"pixels": True},
        ),
        _Entry(
            TaskSpec(
                name="visual-door",
                observation="image (48, 48, 3) uint8 RGB, door and gripper",
                action="Box(-1, 1, (3,)): end-effector xyz, 0.02 m per unit",
                horizon=100,
                success="door angle within 0.1 rad of 0.8 rad; reward 1 on every step there",
                pixels=True,
            ),
            "videorl.envs.door:DoorEnv",
            {},
        ),
        _Entry(
            TaskSpec(
                name="visual-drawer",
                observation="image (48, 48, 3) uint8 RGB, drawer and gripper",
                action="Box(-1, 1, (3,)): end-effector y, z (0.01 m per unit), gripper; x fixed",
                horizon=200,
                success="handle y within 0.08 of its open position; reward 1 on every step there",
                pixels=True,
            ),
            "videorl.envs.drawer:DrawerEnv",
            {},
        ),
        _Entry(
            TaskSpec(
                name="visual-close-drawer",
                observation=_DVD_OBSERVATION,
                action=_DVD_ACTION,
                horizon=60,
                success="drawer slide joint > -0.05 (pushed shut); reward 1 on every step there",
                pixels=True,
            ),
            "videorl.envs.dvd:CloseDrawerEnv",
            {},
        ),
        _Entry(
            TaskSpec(
                name="visual-push-cup",
                observation=_DVD_OBSERVATION,
                action=_DVD_ACTION,
                horizon=60,
                success="mug within 0.075 of (0.0, 0.7, 0.0); reward 1 on every step there",
                pixels=True,
            ),
            "videorl.envs.dvd:PushCupEnv",
            {},
        ),
        _Entry(
            TaskSpec(
                name="visual-faucet-right",
                observation=_DVD_OBSERVATION,
                action=_DVD_ACTION,
                horizon=60,
                success="faucet joint < -0.01 (turned clockwise seen from above); reward 1 there",
                pixels=True,
            ),
            "videorl.envs.dvd:FaucetRightEnv",
            {},
        ),
    )
}

TASKS: dict[str, TaskSpec] = {name: entry.spec for name, entry in _ENTRIES.items()}
"""The tasks by name: RLV's five, then HOLD's three DVD tasks. RLV's Acrobot comes twice:
``acrobot`` with gymnasium's three discrete torques, ``acrobot-continuous`` with the continuous
action the authors binned into them."""


def gym_id(name: str) -> str:
    """The gymnasium id of a videorl task, e.g. ``videorl/visual-pusher-v0``."""
    return f"{GYM_NAMESPACE}/{name}-v0"


def _valid_names() -> str:
    return ", ".join(TASKS) + f", or {GYM_PREFIX}<gymnasium id> (e.g. {GYM_PREFIX}Pendulum-v1)"


def register_envs() -> None:
    """Register every task with gymnasium (idempotent)."""
    for name, entry in _ENTRIES.items():
        env_id = gym_id(name)
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point=entry.entry_point,
            kwargs=dict(entry.kwargs),
            max_episode_steps=entry.spec.horizon,
        )


def make_env(name: str, *, render_size: int = 128, domain: str = "robot") -> gym.Env:
    """Build a task by name, or any gymnasium environment as ``gym:ID``, seen in ``domain``.

    Every environment comes with ``render_mode="rgb_array"``; for the videorl tasks ``render()``
    returns a ``render_size`` square view from the observation camera. ``domain`` (one of
    ``appearance.DOMAINS``) changes what that camera sees, in observations and in ``render()``,
    never the physics; ``env.unwrapped.domain`` tells which. Unknown names raise
    :class:`UnknownEnvError`, and domains that do not exist or that the environment cannot
    render (a hand for the acrobots, anything but ``robot`` for ``gym:`` environments) raise
    ``appearance.UnknownDomainError``, each with a one-line list of what is valid.
    """
    if name.startswith(GYM_PREFIX):
        env_id = name[len(GYM_PREFIX) :]
        check_domain(domain, available=("robot",), env_name=f"gymnasium environment {name!r}")
        try:
            return gym.make(env_id, render_mode="rgb_array")
        except gym.error.Error as error:  # NameNotFound, VersionNotFound, ...
            raise UnknownEnvError(
                f"unknown gymnasium id {env_id!r} ({error}); valid names: {_valid_names()}"
            ) from None
    if name not in TASKS:
        raise UnknownEnvError(f"unknown environment {name!r}; valid names: {_valid_names()}")
    register_envs()
    return gym.make(gym_id(name), render_mode="rgb_array", render_size=render_size, domain=domain)


def expert_policy(env: gym.Env) -> Callable[[Any], Any]:
    """The task's scripted expert as a policy ``obs -> action``.

    The expert reads the true simulator state, not the observation (which it ignores), so it
    acts the same from pixels as from states. Raises UserError for environments without one.
    """
    unwrapped = env.unwrapped
    expert = getattr(unwrapped, "expert_action", None)
    if not callable(expert):
        spec = getattr(env, "spec", None)
        label = spec.id if spec is not None else type(unwrapped).__name__
        raise UserError(
            f"environment {label!r} has no scripted expert; experts exist for: {', '.join(TASKS)}"
        )

    def policy(observation: Any) -> Any:
        del observation  # the expert reads the simulator state
        return expert()

    return policy
