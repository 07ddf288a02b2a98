"""The shared base of the Sawyer tasks: Meta-World's robot and objects, driven through MuJoCo.

The tasks load Meta-World's XML scenes with MuJoCo directly instead of subclassing Meta-World's
environment classes. Those classes compute dense rewards, grasp checks and a 39-d observation on
every step and need a ``set_task`` call; the RLV tasks need none of it, and skipping it keeps a
step cheap and the code small. What is reused is exactly what matters for fidelity: the robot,
the objects, the physics options, and Meta-World's way of moving the hand (a mocap body welded to
the hand, moved by ``action * scale`` each step, fingers driven by two position actuators).

Subclasses describe a task through a few hooks: how an action maps to a mocap target and a
gripper command, how an episode starts, when it is a success, and an ``expert_action`` that reads
the true simulator state.

Every task can be seen through an observation domain (``appearance.py``, applied by
``domain_edits.py``): the domain redraws colours, lights, the camera or a human hand each episode,
and touches only what the renderer reads, so the physics is the same in every domain.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from videorl.envs.appearance import Appearance, check_domain
from videorl.envs.domain_edits import SawyerDomain
from videorl.envs.hand import HandPose
from videorl.envs.render import ROBOT_GEOM_GROUP, CameraPose, RenderSettings, SawyerRenderer

# isort: split
import mujoco  # after the render module has chosen the GL backend: MuJoCo reads it on import

_HAND_QUAT = np.array([1.0, 0.0, 1.0, 0.0])  # Meta-World's mocap orientation: gripper down
_WELD_DATA = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 5.0])


def metaworld_asset(relative: str) -> str:
    """Absolute path of a file in Meta-World's asset folder.

    Found through the import system without importing ``metaworld``: importing it builds all of
    its 50 environment classes (and imports MuJoCo before the GL backend is chosen).
    """
    spec = importlib.util.find_spec("metaworld")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the Sawyer tasks need Meta-World's assets: pip install metaworld==3.1.1"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / relative
    if not path.is_file():
        raise FileNotFoundError(f"Meta-World asset missing: {path} (reinstall metaworld==3.1.1)")
    return str(path)


class SawyerEnv(gym.Env[np.ndarray, np.ndarray]):
    """A Meta-World Sawyer scene with a reduced action space, a fixed horizon and a sparse reward.

    Episodes never terminate (the tasks have no absorbing state); ``truncated`` is True exactly on
    step ``HORIZON``. Stepping on after that raises, so a loop that forgets to reset fails loudly
    instead of silently running an overlong episode.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 10}

    XML: ClassVar[str] = ""
    """Scene file inside Meta-World's ``assets/``."""
    FRAME_SKIP: ClassVar[int] = 5
    """Physics steps (2.5 ms each) per environment step."""
    ACTION_SCALE: ClassVar[float] = 0.01
    """Metres the mocap target moves per unit of action."""
    HORIZON: ClassVar[int] = 100
    CAMERA: ClassVar[CameraPose]
    MOCAP_LOW: ClassVar[tuple[float, float, float]] = (-0.5, 0.40, 0.05)
    MOCAP_HIGH: ClassVar[tuple[float, float, float]] = (0.5, 1.0, 0.5)
    SETTLE_STEPS: ClassVar[int] = 250
    """Physics steps for the hand to reach its start pose from the model's default arm pose."""
    IMAGE_SIZE: ClassVar[int] = 48
    ACTION_DIM: ClassVar[int] = 3
    """Size of the task's Box(-1, 1) action."""
    IMAGE_ONLY: ClassVar[bool] = False
    """True for tasks that have no state observation."""
    HAND_PALM_FORWARD: ClassVar[bool] = False
    """How the human hand of the hand/human domains holds its palm: away from the person, to
    push (True), or toward them, to hook and pull (False)."""

    def __init__(
        self,
        *,
        pixels: bool = True,
        render_mode: str | None = "rgb_array",
        render_size: int = 128,
        image_size: int | None = None,
        domain: str = "robot",
    ) -> None:
        check_domain(domain)  # before the slow model load
        if self.IMAGE_ONLY and not pixels:
            raise ValueError(f"{type(self).__name__} has image observations only")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be 'rgb_array' or None, got {render_mode!r}")
        self.render_mode = render_mode
        self.render_size = int(render_size)
        self.pixels = pixels
        self.image_size = int(image_size or self.IMAGE_SIZE)

        self.model = self._load_model()
        self.data = mujoco.MjData(self.model)
        # Meta-World's weld: hand pose relative to the mocap (gripper pointing down), torque scale.
        for i in range(self.model.neq):
            if self.model.eq_type[i] == mujoco.mjtEq.mjEQ_WELD:
                self.model.eq_data[i] = _WELD_DATA
        self._mocap_low = np.array(self.MOCAP_LOW, dtype=np.float64)
        self._mocap_high = np.array(self.MOCAP_HIGH, dtype=np.float64)
        self._hand_body = self.model.body("hand").id
        self._left_tip = self.model.site("leftEndEffector").id
        self._right_tip = self.model.site("rightEndEffector").id
        robot_root = int(self.model.body_rootid[self._hand_body])
        self._group_robot_geoms(robot_root)

        # Videos play in real time: one frame per environment step.
        step_seconds = self.FRAME_SKIP * float(self.model.opt.timestep)
        self.metadata = {**self.metadata, "render_fps": round(1.0 / step_seconds)}
        self.renderer = SawyerRenderer(self.model, self.CAMERA, RenderSettings())
        self._domain = SawyerDomain(
            domain, self.model, self.renderer, robot_root=robot_root, hand_pose=self._hand_pose
        )
        self._steps = -1  # -1: reset() not called yet

        if pixels:
            shape = (self.image_size, self.image_size, 3)
            self.observation_space = spaces.Box(0, 255, shape, dtype=np.uint8)
        else:
            self.observation_space = self._state_space()
        self.action_space = spaces.Box(-1.0, 1.0, (self.ACTION_DIM,), dtype=np.float32)
        self._setup_task()

    # ------------------------------------------------------------------ task hooks
    def _load_model(self) -> mujoco.MjModel:
        """The task's compiled scene (default: Meta-World's ``XML``; a task may compose its own)."""
        return mujoco.MjModel.from_xml_path(metaworld_asset(f"sawyer_xyz/{self.XML}"))

    def _setup_task(self) -> None:
        """Adjust the loaded model and cache ids for the task (called once by __init__)."""

    def _state_space(self) -> spaces.Box:
        raise NotImplementedError(f"{type(self).__name__} has no state observation")

    def _state_observation(self) -> np.ndarray:
        raise NotImplementedError

    def _control(self, action: np.ndarray) -> tuple[np.ndarray, float]:
        """Map a clipped action to (mocap target xyz, gripper command in [-1, 1])."""
        raise NotImplementedError

    def _reset_task(self) -> None:
        """Place hand and objects for a new episode, drawing randomness from ``self.np_random``."""
        raise NotImplementedError

    def is_success(self) -> bool:
        """Whether the current simulator state is in the task's goal region."""
        raise NotImplementedError

    def _task_info(self) -> dict[str, float]:
        """Extra diagnostics for the info dict (distances, angles)."""
        return {}

    def expert_action(self) -> np.ndarray:
        """A scripted action for the current true state (deterministic)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ domain
    @property
    def domain(self) -> str:
        """The observation domain this environment renders (``robot``: unchanged)."""
        return self._domain.name

    @property
    def appearance(self) -> Appearance:
        """What the domain drew for the current episode (colours, lights, camera, hand)."""
        return self._domain.appearance

    def _group_robot_geoms(self, robot_root: int) -> None:
        """Move the robot's drawn geoms into ``ROBOT_GEOM_GROUP`` (every domain alike).

        ``geom_group`` only filters what is drawn (it matters to the compiler, which has run),
        so this changes no dynamics; it lets the hand domain hide the robot and keep the table.
        """
        m = self.model
        robot = m.body_rootid[m.geom_bodyid] == robot_root
        drawn = m.geom_group < ROBOT_GEOM_GROUP
        m.geom_group[robot & drawn] = ROBOT_GEOM_GROUP

    def _hand_pose(self, data: mujoco.MjData) -> HandPose:
        """The end-effector as the hand domain follows it (read from ``data``'s kinematics)."""
        left, right = data.site_xpos[self._left_tip], data.site_xpos[self._right_tip]
        return HandPose(
            wrist=data.xpos[self._hand_body].copy(),
            tip=(left + right) / 2,
            opening=float(np.linalg.norm(left - right)),
            palm_forward=self.HAND_PALM_FORWARD,
        )

    # ------------------------------------------------------------------ robot helpers
    @property
    def hand_pos(self) -> np.ndarray:
        """Position of Meta-World's ``hand`` body (the wrist, ~4.5 cm above the fingertips)."""
        return self.data.xpos[self._hand_body].copy()

    @property
    def tcp_pos(self) -> np.ndarray:
        """Midpoint of the two fingertips: the point that touches things."""
        return (self.data.site_xpos[self._left_tip] + self.data.site_xpos[self._right_tip]) / 2

    def _move_mocap(self, target: np.ndarray, gripper: float) -> None:
        self.data.mocap_pos[0] = np.clip(target, self._mocap_low, self._mocap_high)
        self.data.mocap_quat[0] = _HAND_QUAT
        self.data.ctrl[:] = (gripper, -gripper)

    def _settle_hand(self, target: np.ndarray, gripper: float, steps: int | None = None) -> None:
        """Hold the mocap at ``target`` while the arm catches up (used at reset)."""
        self._move_mocap(np.asarray(target, dtype=np.float64), gripper)
        mujoco.mj_step(self.model, self.data, nstep=steps or self.SETTLE_STEPS)

    def _set_joint(self, name: str, qpos: float | np.ndarray) -> None:
        """Set a joint's position and zero its velocity (placing objects at reset or in tests)."""
        joint = self.model.joint(name)
        adr, dof = joint.qposadr[0], joint.dofadr[0]
        value = np.atleast_1d(np.asarray(qpos, dtype=np.float64))
        self.data.qpos[adr : adr + value.size] = value
        nv = {0: 6, 1: 3}.get(int(joint.type[0]), 1)  # free, ball, slide/hinge
        self.data.qvel[dof : dof + nv] = 0.0
        mujoco.mj_forward(self.model, self.data)

    # ------------------------------------------------------------------ gymnasium API
    def _observation(self) -> np.ndarray:
        if self.pixels:
            return self.renderer.render(self.data, self.image_size)
        return self._state_observation()

    def _info(self) -> dict[str, Any]:
        return {"success": bool(self.is_success()), **self._task_info()}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode; with a seed, the episode is fully reproducible.

        The domain's look is drawn from its own generator (derived from ``seed``), never from
        ``np_random``, so the state trajectory does not depend on the domain.
        """
        super().reset(seed=seed)
        self._domain.new_episode(seed, self.np_random_seed)
        mujoco.mj_resetData(self.model, self.data)
        self._reset_task()
        mujoco.mj_forward(self.model, self.data)
        self._steps = 0
        return self._observation(), self._info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Move the hand by ``action * ACTION_SCALE`` over ``FRAME_SKIP`` physics steps."""
        if self._steps < 0:
            raise RuntimeError("call reset() before step()")
        if self._steps >= self.HORIZON:
            raise RuntimeError(
                f"episode is over (horizon {self.HORIZON} reached, truncated=True): call reset()"
            )
        action = np.asarray(action, dtype=np.float64).reshape(-1)
        if action.shape != self.action_space.shape:
            raise ValueError(
                f"action must have shape {self.action_space.shape}, got {action.shape}"
            )
        if not np.all(np.isfinite(action)):
            raise ValueError(f"action must be finite, got {action}")
        target, gripper = self._control(np.clip(action, -1.0, 1.0))
        self._move_mocap(target, gripper)
        mujoco.mj_step(self.model, self.data, nstep=self.FRAME_SKIP)
        mujoco.mj_forward(self.model, self.data)  # positions of the state just reached
        self._steps += 1
        info = self._info()
        reward = 1.0 if info["success"] else 0.0
        truncated = self._steps == self.HORIZON
        return self._observation(), reward, False, truncated, info

    def render(self) -> np.ndarray | None:  # type: ignore[override]
        """A ``render_size`` square view from the observation camera (for videos)."""
        if self.render_mode is None:
            return None
        return self.renderer.render(self.data, self.render_size)

    def close(self) -> None:
        """Free the GL contexts (safe to call twice)."""
        self.renderer.close()
        super().close()

    # ------------------------------------------------------------------ expert helper
    def _p_control(self, current: np.ndarray, target: np.ndarray, gain: float = 1.0) -> np.ndarray:
        """Proportional action that moves ``current`` to ``target`` (full speed when far)."""
        delta = (np.asarray(target) - np.asarray(current)) * gain / self.ACTION_SCALE
        return np.clip(delta, -1.0, 1.0)
