"""RLV's Visual Drawer Opening: Meta-World's drawer-open with the hand's x fixed.

As in the paper: Meta-World's drawer scene, frame skip 5, 0.01 m per unit action, horizon 200,
action = (y, z, gripper) with the hand's x locked. Reward and success are 1 while the handle's y
is within 0.08 of its open position.

Choices the paper leaves open, made here:

* "Open position" is the handle's y with the drawer pulled out to its joint limit (0.16 m), so
  success means the drawer is at least half open (0.08 m).
* Meta-World's only randomisation for drawer-open, the drawer's x ~ U[-0.1, 0.1], is kept; the
  hand's fixed x follows the drawer's x, since with x locked the hand must be in line with it.
  The hand starts at Meta-World's (x, 0.6, 0.2).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from videorl.envs.render import CameraPose
from videorl.envs.sawyer import SawyerEnv

DRAWER_CAMERA = CameraPose(distance=0.9, elevation=-35.0, azimuth=150.0, lookat=(0.0, 0.7, 0.1))


class DrawerEnv(SawyerEnv):
    """Pull the drawer open; images only."""

    XML: ClassVar[str] = "sawyer_drawer.xml"
    FRAME_SKIP: ClassVar[int] = 5
    ACTION_SCALE: ClassVar[float] = 0.01
    HORIZON: ClassVar[int] = 200
    CAMERA: ClassVar[CameraPose] = DRAWER_CAMERA

    DRAWER_X_RANGE: ClassVar[tuple[float, float]] = (-0.1, 0.1)
    DRAWER_YZ: ClassVar[tuple[float, float]] = (0.9, 0.0)
    HAND_START_YZ: ClassVar[tuple[float, float]] = (0.6, 0.2)
    OPEN_TRAVEL: ClassVar[float] = 0.16
    """How far the drawer slides out at its joint limit (Meta-World's ``goal_slidey`` range)."""
    SUCCESS_TOLERANCE: ClassVar[float] = 0.08

    # Expert geometry. The handle is a bar along x, 0.15 m in front of the drawer body's origin,
    # at z = 0.09; open fingers (4.7 cm either side of the hand in y) straddle it.
    HANDLE_OFFSET_Y: ClassVar[float] = -0.15
    GRASP_TCP_Z: ClassVar[float] = 0.03
    TRAVEL_TCP_Z: ClassVar[float] = 0.15
    TCP_TO_MOCAP: ClassVar[tuple[float, float]] = (0.0, 0.048)
    """Mocap minus fingertip midpoint (y, z) with the fingers open and the hand at rest."""

    ACTION_DIM: ClassVar[int] = 3
    IMAGE_ONLY: ClassVar[bool] = True

    def _setup_task(self) -> None:
        self._drawer_link = self.model.body("drawer_link").id
        self._handle_geom = self.model.geom("objGeom").id
        self._fixed_x = 0.0
        self._handle_open_y = 0.0

    # ------------------------------------------------------------------ hooks
    def _control(self, action: np.ndarray) -> tuple[np.ndarray, float]:
        target = self.data.mocap_pos[0].copy()
        target[0] = self._fixed_x
        target[1:] += action[:2] * self.ACTION_SCALE
        return target, float(action[2])

    def _reset_task(self) -> None:
        x = float(self.np_random.uniform(*self.DRAWER_X_RANGE))
        self._fixed_x = x
        self.model.body("drawer").pos[:] = (x, *self.DRAWER_YZ)
        self._settle_hand(np.array([x, *self.HAND_START_YZ]), -1.0)
        self.set_opening(0.0)
        self._handle_open_y = self.handle_y - self.OPEN_TRAVEL

    @property
    def opening(self) -> float:
        """How far the drawer is pulled out, in metres (0 closed, 0.16 fully open)."""
        return -float(self.data.joint("goal_slidey").qpos[0])

    def set_opening(self, opening: float) -> None:
        """Put the drawer at rest pulled out by ``opening`` metres (for tests)."""
        self._set_joint("goal_slidey", -float(opening))

    @property
    def handle_y(self) -> float:
        """World y of the handle (the drawer slides along y)."""
        return float(self.data.geom_xpos[self._handle_geom, 1])

    @property
    def handle_open_y(self) -> float:
        """World y the handle has when the drawer is fully open (fixed per episode)."""
        return self._handle_open_y

    def is_success(self) -> bool:
        return abs(self.handle_y - self.handle_open_y) <= self.SUCCESS_TOLERANCE

    def _task_info(self) -> dict[str, float]:
        return {"drawer_opening": self.opening}

    # ------------------------------------------------------------------ expert
    def expert_action(self) -> np.ndarray:
        """Straddle the handle bar with open fingers from above, then pull it out to the limit.

        Travels at a height clear of the handle, drops only when over the bar, and backs up if
        the bar slips out from between the fingers; the gripper stays open (the back finger hooks
        the bar), as in Meta-World's scripted drawer policy. Targets are fingertip positions
        turned into mocap targets, so a hand that lags under load does not wind the target up.
        """
        tcp = self.tcp_pos
        bar_y = float(self.data.xpos[self._drawer_link, 1]) + self.HANDLE_OFFSET_Y
        offset = tcp[1] - bar_y  # fingers straddle the bar while -0.045 < offset < 0.035
        straddling = -0.045 < offset < 0.035
        if tcp[2] < self.GRASP_TCP_Z + 0.04 and straddling:
            pulled = self.opening >= self.OPEN_TRAVEL - 0.005
            target = (bar_y - (0.04 if pulled else 0.09), self.GRASP_TCP_Z)
        elif tcp[2] < self.GRASP_TCP_Z + 0.04:
            target = (tcp[1], self.TRAVEL_TCP_Z)  # lost the bar: back up before moving along y
        elif abs(offset) < 0.01:
            target = (bar_y, self.GRASP_TCP_Z)
        else:
            target = (bar_y, self.TRAVEL_TCP_Z)
        mocap_target = np.array(target) + self.TCP_TO_MOCAP
        move = self._p_control(self.data.mocap_pos[0, 1:], mocap_target)
        return np.array([move[0], move[1], -1.0], dtype=np.float32)
