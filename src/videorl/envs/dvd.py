"""HOLD's three DVD tasks (Fig. 2f-i): close drawer, push cup forward, turn faucet right.

DVD's tabletop is one Meta-World Sawyer scene with a drawer, a faucet and a mug, and each task is
that scene with its own success test, so a video of one task shows the other objects too. The
facts from the authors' code: close drawer succeeds when the drawer's slide joint is above -0.05
(Meta-World's convention, negative = pulled out); push cup forward when the mug is within 0.075
of (0, 0.7, 0); turn faucet right when the faucet's joint is below -0.01; horizon 60, a fixed
camera and image observations. Reward is 1 on every step in the goal region; episodes never
terminate.

The scene is composed from Meta-World's own files with ``mujoco.MjSpec``: the drawer scene
(``sawyer_drawer.xml``: robot, table, drawer) gets the faucet of ``sawyer_faucet.xml`` and the mug
of ``sawyer_coffee.xml`` attached (their names prefixed ``faucet_`` and ``mug_``), so every mesh,
material and contact setting is Meta-World's.

Choices the paper leaves open, made here:

* Layout (as in DVD's code: drawer at +x, faucet at -x, the mug's goal in the middle): the
  drawer at (0.23, 0.85), its front facing the robot; the faucet at (-0.22, 0.82), its handle
  pointing at the robot at angle 0; the mug's goal (0, 0.7) between them. The open drawer, the
  faucet's sweep and the mug's start area do not overlap, so the hand reaches each object
  without touching the others (the experts leave the other two objects where they were).
* One start distribution for all three tasks (only the success test and the expert differ):
  the hand (Meta-World's mocap) at x ~ U[-0.05, 0.05], y ~ U[0.45, 0.5], z ~ U[0.18, 0.22]; the
  drawer pulled out by U[0.1, 0.16] m (0.16 is its limit); the mug upright at
  x ~ U[-0.05, 0.05], y ~ U[0.53, 0.58], i.e. 0.12 to 0.18 m behind its goal (on the robot's
  side), handle toward +x; the faucet at angle 0.
* Push cup forward: the distance is the full 3-D one of DVD's code, from the mug body's origin
  (the centre of its base, z = 0 when it stands on the table) to (0, 0.7, 0); an upright mug is
  then judged by its xy distance alone.
* Turn faucet right: the joint is Meta-World's ``knob_Joint_1`` (hinge about +z), so negative is
  clockwise seen from above: the handle's tip, pointing at the robot at angle 0, swings toward
  -x, which is rightward in the camera's image (the camera faces the robot). Meta-World's own
  faucet-close turns it this way.
* Action: end-effector xyz, 0.02 m per unit action with 10 physics steps (25 ms) per step, the
  speed limit of Meta-World's 0.01 m per 5 steps (as for the door); 60 steps then cover the
  ~0.5 m each expert travels. The fingers are held closed (a flat pusher): every task is a push.
* Camera: across the table, facing the robot, 65 degrees down, so the three objects and the
  hand are all in view at 48x48 (the drawer on the image's left, the faucet on its right).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from videorl.envs.render import CameraPose
from videorl.envs.sawyer import SawyerEnv, metaworld_asset

# isort: split
import mujoco  # after the render module has chosen the GL backend

DVD_CAMERA = CameraPose(distance=0.9, elevation=-65.0, azimuth=270.0, lookat=(0.0, 0.7, 0.05))


def build_dvd_scene(
    drawer_pos: tuple[float, float, float],
    faucet_pos: tuple[float, float, float],
) -> mujoco.MjModel:
    """Meta-World's drawer scene with its faucet and mug attached (the mug is placed at reset)."""
    spec = mujoco.MjSpec.from_file(metaworld_asset("sawyer_xyz/sawyer_drawer.xml"))
    spec.body("drawer").pos = drawer_pos
    faucet = mujoco.MjSpec.from_file(metaworld_asset("sawyer_xyz/sawyer_faucet.xml")).body(
        "faucetBase"
    )
    faucet.pos = faucet_pos
    spec.worldbody.add_frame().attach_body(faucet, "faucet_", "")
    coffee = mujoco.MjSpec.from_file(metaworld_asset("sawyer_xyz/sawyer_coffee.xml"))
    mug = coffee.body("obj")
    mug.first_joint().name = "joint"
    mug.pos = (0.0, 0.0, 0.0)
    spec.worldbody.add_frame().attach_body(mug, "mug_", "")
    return spec.compile()


class DVDTabletopEnv(SawyerEnv):
    """The shared DVD scene; a subclass picks the task (success test, expert)."""

    XML: ClassVar[str] = "sawyer_drawer.xml"
    """The base scene; the faucet and the mug are attached to it by ``build_dvd_scene``."""
    FRAME_SKIP: ClassVar[int] = 10
    ACTION_SCALE: ClassVar[float] = 0.02
    HORIZON: ClassVar[int] = 60
    CAMERA: ClassVar[CameraPose] = DVD_CAMERA
    GRIPPER: ClassVar[float] = 1.0  # closed: a flat pusher

    DRAWER_POS: ClassVar[tuple[float, float, float]] = (0.23, 0.85, 0.0)
    FAUCET_POS: ClassVar[tuple[float, float, float]] = (-0.22, 0.82, 0.0)
    HAND_LOW: ClassVar[tuple[float, float, float]] = (-0.05, 0.45, 0.18)
    HAND_HIGH: ClassVar[tuple[float, float, float]] = (0.05, 0.5, 0.22)
    DRAWER_OPEN_RANGE: ClassVar[tuple[float, float]] = (0.1, 0.16)
    MUG_LOW: ClassVar[tuple[float, float]] = (-0.05, 0.53)
    MUG_HIGH: ClassVar[tuple[float, float]] = (0.05, 0.58)
    FAUCET_START: ClassVar[float] = 0.0
    PARK: ClassVar[tuple[float, float]] = (-0.55, 0.3)
    """Where the mug waits (on the table's far corner) while the arm swings in at reset."""

    CUP_GOAL: ClassVar[tuple[float, float, float]] = (0.0, 0.7, 0.0)
    CUP_RADIUS: ClassVar[float] = 0.075
    DRAWER_CLOSED_ABOVE: ClassVar[float] = -0.05
    FAUCET_RIGHT_BELOW: ClassVar[float] = -0.01

    ACTION_DIM: ClassVar[int] = 3
    IMAGE_ONLY: ClassVar[bool] = True
    HAND_PALM_FORWARD: ClassVar[bool] = True  # every task is a push

    # Expert geometry, shared by the three experts.
    TRAVEL_TCP_Z: ClassVar[float] = 0.13
    """Fingertip height while the hand moves between objects: clear of the mug (0.07 tall)."""
    TCP_TO_MOCAP: ClassVar[tuple[float, float, float]] = (0.0, -0.007, 0.048)
    """Mocap minus fingertip midpoint with the fingers closed and the hand at rest."""

    def _load_model(self) -> mujoco.MjModel:
        return build_dvd_scene(self.DRAWER_POS, self.FAUCET_POS)

    def _setup_task(self) -> None:
        self._drawer_link = self.model.body("drawer_link").id
        self._faucet_link = self.model.body("faucet_faucet_link2").id
        self._mug_body = self.model.body("mug_obj").id
        self._cup_goal = np.array(self.CUP_GOAL, dtype=np.float64)

    # ------------------------------------------------------------------ hooks
    def _control(self, action: np.ndarray) -> tuple[np.ndarray, float]:
        return self.data.mocap_pos[0] + action * self.ACTION_SCALE, self.GRIPPER

    def _reset_task(self) -> None:
        rng = self.np_random
        hand = rng.uniform(self.HAND_LOW, self.HAND_HIGH)
        opening = float(rng.uniform(*self.DRAWER_OPEN_RANGE))
        mug = rng.uniform(self.MUG_LOW, self.MUG_HIGH)
        self.set_mug(self.PARK)  # out of the arm's way while it swings in from its default pose
        self._settle_hand(hand, self.GRIPPER)
        self.set_drawer_opening(opening)
        self.set_faucet_angle(self.FAUCET_START)
        self.set_mug(mug)

    # ------------------------------------------------------------------ state
    @property
    def drawer_joint(self) -> float:
        """Meta-World's drawer slide joint: 0 closed, -0.16 fully pulled out."""
        return float(self.data.joint("goal_slidey").qpos[0])

    def set_drawer_opening(self, opening: float) -> None:
        """Put the drawer at rest pulled out by ``opening`` metres (for resets and tests)."""
        self._set_joint("goal_slidey", -float(opening))

    @property
    def faucet_angle(self) -> float:
        """Meta-World's faucet joint in radians: 0 handle toward the robot, negative clockwise."""
        return float(self.data.joint("faucet_knob_Joint_1").qpos[0])

    def set_faucet_angle(self, angle: float) -> None:
        """Put the faucet handle at rest at ``angle`` rad (for resets and tests)."""
        self._set_joint("faucet_knob_Joint_1", float(angle))

    @property
    def mug_pos(self) -> np.ndarray:
        """World position of the mug body's origin (the centre of its base)."""
        return self.data.xpos[self._mug_body].copy()

    def set_mug(self, xy: tuple[float, float] | np.ndarray) -> None:
        """Stand the mug at rest at ``xy`` on the table (for resets and tests)."""
        self._set_joint("mug_joint", [xy[0], xy[1], 0.0, 1.0, 0.0, 0.0, 0.0])

    def cup_goal_distance(self) -> float:
        """3-D distance from the mug's base to the push-cup goal (0, 0.7, 0)."""
        return float(np.linalg.norm(self.mug_pos - self._cup_goal))

    def _task_info(self) -> dict[str, float]:
        return {
            "drawer_joint": self.drawer_joint,
            "faucet_angle": self.faucet_angle,
            "cup_goal_distance": self.cup_goal_distance(),
        }

    # ------------------------------------------------------------------ expert helpers

    def _reach(self, tcp_target: np.ndarray, speed: float = 1.0) -> np.ndarray:
        """Action that brings the fingertips to ``tcp_target``, at most ``speed`` per axis.

        It steers the mocap to where it sits when the fingertips are at the target, so a hand
        that lags (under load, or accelerating) does not wind the target up and overshoot.
        """
        mocap_target = np.asarray(tcp_target) + self.TCP_TO_MOCAP
        return (self._p_control(self.data.mocap_pos[0], mocap_target) * speed).astype(np.float32)

    def _travel_then_descend(self, target: np.ndarray, reached: float = 0.015) -> np.ndarray:
        """Fingertips to ``target``: across at ``TRAVEL_TCP_Z`` (a hand that is low and off
        target first rises straight up, so it never drags an object back), then down onto it."""
        tcp = self.tcp_pos
        height = max(self.TRAVEL_TCP_Z, float(target[2]))
        error = float(np.linalg.norm(tcp[:2] - target[:2]))
        low = tcp[2] < height - 0.02
        if error <= reached or (low and error <= 0.04):
            return self._reach(target)
        if low:
            return self._reach(np.array([tcp[0], tcp[1], height]))
        return self._reach(np.array([target[0], target[1], height]))


class CloseDrawerEnv(DVDTabletopEnv):
    """Push the open drawer shut (slide joint above -0.05); images only."""

    HANDLE_OFFSET_Y: ClassVar[float] = -0.15
    """The handle bar's y relative to the sliding drawer body (``drawer_link``)."""
    PUSH_TCP_Z: ClassVar[float] = 0.09
    """Fingertip height on the bar (the bar is at the drawer body's height, z = 0.09)."""
    STANDOFF: ClassVar[float] = 0.03
    """Fingertip midpoint to bar centre while pushing: bar radius + the fingers' half depth."""

    def is_success(self) -> bool:
        return self.drawer_joint > self.DRAWER_CLOSED_ABOVE

    def expert_action(self) -> np.ndarray:
        """Come down in front of the handle bar, then push it along y until the drawer is shut.

        The hand moves over to the bar above the mug's height, drops in front of it (the drawer
        opens toward the robot, so the hand starts in front of it) and pushes the bar to its
        closed position; once the drawer is shut it holds still against the bar.
        """
        tcp = self.tcp_pos
        drawer = self.data.xpos[self._drawer_link]
        bar_y = float(drawer[1]) + self.HANDLE_OFFSET_Y
        offset = tcp[1] - bar_y  # fingertips in front of the bar while offset < 0
        at_bar = (
            abs(tcp[0] - drawer[0]) < 0.03
            and -self.STANDOFF - 0.03 < offset < 0.01
            and tcp[2] < self.PUSH_TCP_Z + 0.025
        )
        if at_bar:
            if self.drawer_joint > -0.005:  # shut: hold still
                return np.zeros(3, dtype=np.float32)
            closed_bar_y = bar_y - self.drawer_joint
            return self._reach(
                np.array([drawer[0], closed_bar_y - self.STANDOFF + 0.01, self.PUSH_TCP_Z])
            )
        return self._travel_then_descend(
            np.array([drawer[0], bar_y - self.STANDOFF, self.PUSH_TCP_Z])
        )


class PushCupEnv(DVDTabletopEnv):
    """Push the mug forward to within 0.075 of (0, 0.7, 0); images only."""

    PUSH_TCP_Z: ClassVar[float] = 0.03
    """Fingertip height while pushing: below the mug's centre of mass, so it slides, not tips."""
    STANDOFF: ClassVar[float] = 0.06
    """Fingertip midpoint to mug centre while pushing: mug radius 0.028 + the fingers' depth."""
    HOLD_DISTANCE: ClassVar[float] = 0.02
    """The expert stops once the mug is this close to the goal."""
    PUSH_SPEED: ClassVar[float] = 0.5
    """Action scale while pushing (0.4 m/s at most)."""

    def is_success(self) -> bool:
        return self.cup_goal_distance() < self.CUP_RADIUS

    def expert_action(self) -> np.ndarray:
        """Get behind the mug on the mug-goal line, then push it along the line to the goal.

        Reads the true mug position. The hand goes over to the point behind the mug at the
        travel height, drops to ``PUSH_TCP_Z`` and advances along the line with a lateral
        correction that keeps the contact centred; it rises and re-approaches if the mug slips
        off, and stops (zero action) once the mug is well inside the goal region.
        """
        tcp = self.tcp_pos
        mug = self.mug_pos[:2]
        to_goal = self._cup_goal[:2] - mug
        dist = float(np.linalg.norm(to_goal))
        if dist <= self.HOLD_DISTANCE:
            return np.zeros(3, dtype=np.float32)
        u = to_goal / dist
        n = np.array([-u[1], u[0]])
        rel = tcp[:2] - mug
        along, lateral = float(rel @ u), float(rel @ n)
        behind = mug - u * self.STANDOFF
        low = tcp[2] < self.PUSH_TCP_Z + 0.03
        if low and -self.STANDOFF - 0.03 < along < -self.STANDOFF + 0.02 and abs(lateral) < 0.015:
            # Slow, and slower still near the goal: a light mug that the hand stops under it
            # slides on, and friction at its base then tips it over.
            speed = self.PUSH_SPEED * float(np.clip(dist / 0.08, 0.4, 1.0))
            target_xy = behind + u * 0.03 - n * lateral * 0.5
            return self._reach(np.array([*target_xy, self.PUSH_TCP_Z]), speed)
        return self._travel_then_descend(np.array([*behind, self.PUSH_TCP_Z]))


class FaucetRightEnv(DVDTabletopEnv):
    """Turn the faucet handle right (clockwise seen from above; joint below -0.01); images only."""

    CONTACT_RADIUS: ClassVar[float] = 0.14
    """Where along the handle (from the hinge) the fingers push: near its red grip's middle."""
    STANDOFF: ClassVar[float] = 0.035
    """Fingertip midpoint to the handle's axis, on the side the handle turns away from."""
    PUSH_TCP_Z: ClassVar[float] = 0.115
    """Fingertip height at the handle (its axis is at z = 0.125)."""
    TARGET_ANGLE: ClassVar[float] = -0.6
    """How far the expert turns the handle (success needs only -0.01)."""

    def is_success(self) -> bool:
        return self.faucet_angle < self.FAUCET_RIGHT_BELOW

    def _contact(self, angle: float) -> np.ndarray:
        """Fingertip target beside the handle when the handle is at ``angle``."""
        pivot = self.data.xpos[self._faucet_link, :2]
        along = np.array([np.sin(angle), -np.cos(angle)])  # the handle's direction
        side = np.array([np.cos(angle), np.sin(angle)])  # away from the clockwise turn
        xy = pivot + self.CONTACT_RADIUS * along + self.STANDOFF * side
        return np.array([*xy, self.PUSH_TCP_Z])

    def expert_action(self) -> np.ndarray:
        """Come down beside the handle, then push it clockwise along its arc to -0.6 rad.

        The hand travels above the mug's height to the side of the handle that faces the turn's
        start (+x at angle 0), drops to the handle's height and then follows the contact point
        a little further along the arc each step, so the handle turns ahead of the fingers.
        """
        tcp = self.tcp_pos
        angle = self.faucet_angle
        contact = self._contact(angle)
        if tcp[2] < self.PUSH_TCP_Z + 0.03 and np.linalg.norm(tcp[:2] - contact[:2]) < 0.025:
            wanted = angle + float(np.clip(self.TARGET_ANGLE - angle, -0.2, 0.2))
            return self._reach(self._contact(wanted))
        return self._travel_then_descend(contact)
