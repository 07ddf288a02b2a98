"""RLV's Pusher: slide a puck to a fixed goal on the table with a 2-D end-effector action.

Built on Meta-World's push scene (Sawyer, table, puck). The paper's facts: the hand moves in xy
only with z held at 0.05, 0.02 m per unit action, one action held for 50 physics steps (frame
skip 50); the puck starts at x ~ U[-0.1, 0.1], y = 0.6; the goal is (0.0, 0.75) and the reward is
1 on every step the puck is within 0.03 (L1) of it, so the return counts the steps in the goal.

The hand starts "away from the puck": its xy is drawn uniformly from x in [-0.2, 0.2], y in
[0.45, 0.55] and redrawn until it is at least ``HAND_MIN_DISTANCE`` (0.1 m) from the puck, so the
agent must first get to the puck. The start area is on the robot's side of the puck because the
camera looks at the robot from across the table: a hand starting on the camera's side of the puck
hides it in the image. The fingers are held closed, making a flat pusher.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from gymnasium import spaces

from videorl.envs.render import CameraPose
from videorl.envs.sawyer import SawyerEnv

PUSHER_CAMERA = CameraPose(distance=0.45, elevation=-60.0, azimuth=270.0, lookat=(0.0, 0.85, 0.45))


class PusherEnv(SawyerEnv):
    """State Pusher (``pixels=False``) and Visual Pusher (``pixels=True``)."""

    XML: ClassVar[str] = "sawyer_push_v3.xml"
    FRAME_SKIP: ClassVar[int] = 50
    ACTION_SCALE: ClassVar[float] = 0.02
    HORIZON: ClassVar[int] = 100
    CAMERA: ClassVar[CameraPose] = PUSHER_CAMERA
    HAND_Z: ClassVar[float] = 0.05
    MOCAP_LOW: ClassVar[tuple[float, float, float]] = (-0.25, 0.45, 0.05)
    MOCAP_HIGH: ClassVar[tuple[float, float, float]] = (0.25, 0.85, 0.05)

    GOAL: ClassVar[tuple[float, float]] = (0.0, 0.75)
    GOAL_RADIUS_L1: ClassVar[float] = 0.03
    PUCK_X_RANGE: ClassVar[tuple[float, float]] = (-0.1, 0.1)
    PUCK_START_Y: ClassVar[float] = 0.6
    PUCK_Z: ClassVar[float] = 0.02
    HAND_LOW: ClassVar[tuple[float, float]] = (-0.2, 0.45)
    HAND_HIGH: ClassVar[tuple[float, float]] = (0.2, 0.55)
    HAND_MIN_DISTANCE: ClassVar[float] = 0.1
    GRIPPER: ClassVar[float] = 1.0  # closed

    ACTION_DIM: ClassVar[int] = 2
    HAND_PALM_FORWARD: ClassVar[bool] = True  # a person pushes the puck with the fingers' pads

    def _setup_task(self) -> None:
        self._goal = np.array(self.GOAL, dtype=np.float64)
        self.model.site("goal").pos[:] = (*self.GOAL, self.PUCK_Z)
        self._puck_body = self.model.body("obj").id

    # ------------------------------------------------------------------ hooks
    def _state_space(self) -> spaces.Box:
        return spaces.Box(-np.inf, np.inf, (5,), dtype=np.float32)

    def _state_observation(self) -> np.ndarray:
        return np.concatenate([self.hand_pos, self.puck_xy]).astype(np.float32)

    @property
    def puck_xy(self) -> np.ndarray:
        """Puck centre on the table."""
        return self.data.xpos[self._puck_body, :2].copy()

    def set_puck(self, xy: tuple[float, float] | np.ndarray) -> None:
        """Place the puck at rest at ``xy`` (for tests and scripted starts)."""
        self._set_joint("objjoint", [xy[0], xy[1], self.PUCK_Z, 1.0, 0.0, 0.0, 0.0])

    def _control(self, action: np.ndarray) -> tuple[np.ndarray, float]:
        target = self.data.mocap_pos[0].copy()
        target[:2] += action * self.ACTION_SCALE
        target[2] = self.HAND_Z
        return target, self.GRIPPER

    def _reset_task(self) -> None:
        rng = self.np_random
        puck = np.array([rng.uniform(*self.PUCK_X_RANGE), self.PUCK_START_Y])
        low, high = np.array(self.HAND_LOW), np.array(self.HAND_HIGH)
        hand = rng.uniform(low, high)
        while np.linalg.norm(hand - puck) < self.HAND_MIN_DISTANCE:
            hand = rng.uniform(low, high)
        # Park the puck off to the side while the arm swings in from its default pose, so the
        # swing cannot knock it; then put it at its start, at rest.
        self.set_puck((-0.55, 0.3))
        self._settle_hand(np.array([hand[0], hand[1], self.HAND_Z]), self.GRIPPER)
        self.set_puck(puck)

    def puck_goal_l1(self) -> float:
        """L1 distance from the puck to the goal (the success criterion's metric)."""
        return float(np.abs(self.puck_xy - self._goal).sum())

    def is_success(self) -> bool:
        return self.puck_goal_l1() <= self.GOAL_RADIUS_L1

    def _task_info(self) -> dict[str, float]:
        return {"puck_goal_l1": self.puck_goal_l1()}

    # ------------------------------------------------------------------ expert
    PUSHER_OFFSET: ClassVar[tuple[float, float]] = (0.0, 0.005)
    """Centre of the closed fingers relative to the hand body, in xy."""
    CONTACT_STANDOFF: ClassVar[float] = 0.04
    """Hand-to-puck distance when pushing: puck radius 0.02 + half the finger block + slack."""
    HOLD_L1: ClassVar[float] = 0.01
    """The expert stops pushing once the puck is this close (L1) to the goal."""
    CLEARANCE: ClassVar[float] = 0.065
    """Radius at which the hand circles the puck while it gets behind it."""

    def expert_action(self) -> np.ndarray:
        """Get behind the puck (going around it), then push it along the line to the goal.

        Reads the true hand and puck positions. Pushing: the hand sits ``CONTACT_STANDOFF`` behind
        the puck on the puck-goal line and advances along it, with a lateral correction so the
        contact stays centred. Off that line, the hand circles the puck at ``CLEARANCE`` until it
        is on the far side from the goal, then closes in. It slows near the goal and stops once
        the puck is well inside the goal region, since the reward counts every step there.
        """
        hand = self.hand_pos[:2] + np.array(self.PUSHER_OFFSET)
        puck = self.puck_xy
        if self.puck_goal_l1() <= self.HOLD_L1:  # done: keep still, do not disturb the puck
            return np.zeros(2, dtype=np.float32)
        to_goal = self._goal - puck
        dist = float(np.linalg.norm(to_goal))
        u = to_goal / dist
        n = np.array([-u[1], u[0]])
        rel = hand - puck
        along, lateral = float(rel @ u), float(rel @ n)
        behind = puck - u * self.CONTACT_STANDOFF
        in_position = -0.06 < along < -0.025 and abs(lateral) < 0.012
        if in_position:
            # Advance along u; pull the contact back onto the line through the puck.
            step = min(dist, 0.02)
            target = behind + u * step - n * lateral * 0.5
            return self._p_control(hand, target).astype(np.float32)
        # Not in position: orbit the puck at a safe radius until the hand is on the far side from
        # the goal, then close in on the contact point.
        angle = float(np.arctan2(rel[1], rel[0]))
        wanted = float(np.arctan2(-u[1], -u[0]))
        error = float(np.angle(np.exp(1j * (wanted - angle))))  # wrapped to [-pi, pi]
        if abs(error) > 0.5:
            radius = max(self.CLEARANCE, min(float(np.linalg.norm(rel)), 0.1))
            angle += float(np.clip(error, -0.8, 0.8))
            waypoint = puck + radius * np.array([np.cos(angle), np.sin(angle)])
            return self._p_control(hand, waypoint, gain=2.0).astype(np.float32)
        return self._p_control(hand, behind, gain=1.5).astype(np.float32)
