"""The human hand of the ``hand``/``human`` domains: capsules and an ellipsoid placed on the robot.

The hand is a set of :class:`~videorl.envs.render.SceneGeom` added to the render scene after
each ``update_scene``, so it never exists in ``mjModel``/``mjData``. The geometry is numpy only;
``render`` (which loads MuJoCo) is imported when a hand is actually built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only; importing render loads MuJoCo
    from videorl.envs.appearance import HandStyle
    from videorl.envs.render import SceneGeom


class HandPose(NamedTuple):
    """Where the robot's end-effector is, in the terms a hand needs."""

    wrist: np.ndarray
    """(3,) Meta-World's ``hand`` body (above the fingers)."""
    tip: np.ndarray
    """(3,) midpoint of the fingertips: the human fingertips go here."""
    opening: float
    """Distance between the robot's fingertips (0.028 m closed to 0.10 m open)."""
    palm_forward: bool = False
    """True: the palm faces away from the person (pushing); False: toward them (pulling)."""


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


def _capsules(
    starts: np.ndarray, ends: np.ndarray, radii: np.ndarray, colours: np.ndarray
) -> list[SceneGeom]:
    """Capsules from ``starts[i]`` to ``ends[i]``, their frames computed all at once (a frame
    of the hand then costs a few numpy calls, not a few per finger)."""
    from videorl.envs.render import SceneGeom

    axis = ends - starts
    length = np.linalg.norm(axis, axis=1)
    z = axis / np.maximum(length, 1e-9)[:, None]
    helper = np.where(np.abs(z[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    x = np.cross(z, helper)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.cross(z, x)
    mats = np.stack([x, y, z], axis=2).reshape(-1, 9)  # columns: the capsule's local axes
    sizes = np.stack([radii, length / 2, np.zeros_like(radii)], axis=1)
    centres = (starts + ends) / 2
    return [
        SceneGeom("capsule", sizes[i], centres[i], mats[i], colours[i]) for i in range(len(radii))
    ]


# Hand dimensions (metres, before HandStyle.scale), in the hand's frame: h along the fingers,
# t toward the thumb, n out of the palm.
_PALM_HALF = (0.043, 0.017, 0.052)  # along t, n, h
_PALM_LENGTH = 0.09  # wrist to knuckles
_FINGERS = np.array(  # (offset along t, proximal length, distal length, radius): index .. little
    [
        [0.027, 0.045, 0.035, 0.0085],
        [0.009, 0.050, 0.038, 0.0090],
        [-0.009, 0.047, 0.035, 0.0085],
        [-0.027, 0.037, 0.028, 0.0075],
    ]
)
_FOREARM_LENGTH = 0.26
_CLOSED, _OPEN = 0.028, 0.10  # robot fingertip distance, closed and open


def hand_geoms(pose: HandPose, style: HandStyle) -> list[SceneGeom]:
    """A right hand and forearm whose middle fingertip sits on the robot's fingertips.

    The fingers point along the robot's gripper direction tilted away from the person (a hand
    reaching down to the table); the palm faces the person to pull (door, drawer) or away from
    them to push (``pose.palm_forward``: the curled fingers then never hang over the pushed
    object); the forearm goes back up toward ``style.shoulder`` with the elbow a little raised,
    and a sleeved upper arm leaves the frame. The fingers curl as the robot's gripper closes.
    Pure geometry: nothing here touches the simulator.
    """
    from videorl.envs.render import SceneGeom

    s = style.scale
    skin = np.array([*style.skin, 1.0], dtype=np.float32)
    sleeve = np.array([*style.sleeve, 1.0], dtype=np.float32)
    shoulder = np.asarray(style.shoulder, dtype=np.float64)
    down = _unit(pose.tip - pose.wrist)  # the gripper's pointing direction
    reach = pose.tip - shoulder
    reach = reach - (reach @ down) * down
    if np.linalg.norm(reach) < 1e-6:
        reach = np.array([0.0, 1.0, 0.0]) - down[1] * down
    reach = _unit(reach)
    tilt = np.deg2rad(70.0)
    h = _unit(np.cos(tilt) * reach + np.sin(tilt) * down)
    n = _unit(down - (down @ h) * h)  # palm side: toward the person (pulling)
    if pose.palm_forward:
        n = -n
    t = np.cross(h, n)  # thumb side, as for a right hand
    closed = float(np.clip((_OPEN - pose.opening) / (_OPEN - _CLOSED), 0.0, 1.0))
    bend1, bend2 = np.deg2rad(10.0 + 20.0 * closed), np.deg2rad(15.0 + 30.0 * closed)
    proximal = np.cos(bend1) * h + np.sin(bend1) * n
    distal = np.cos(bend1 + bend2) * h + np.sin(bend1 + bend2) * n

    # Place the wrist so that the middle fingertip lands on the robot's fingertips.
    offset, prox_len, dist_len, radius = (_FINGERS[:, i : i + 1] for i in range(4))
    mid = 1
    to_tip = _PALM_LENGTH * h + offset[mid] * t + prox_len[mid] * proximal + dist_len[mid] * distal
    wrist = pose.tip - s * to_tip

    palm_mat = np.column_stack([np.cross(n, h), n, h]).reshape(9)  # right-handed: lit outside
    palm_centre = wrist + s * (_PALM_LENGTH / 2) * h
    palm = SceneGeom("ellipsoid", s * np.array(_PALM_HALF), palm_centre, palm_mat, skin)

    knuckles = wrist + s * (_PALM_LENGTH * h + offset * t)
    joints = knuckles + s * prox_len * proximal
    tips = joints + s * dist_len * distal
    thumb_base = wrist + s * (0.025 * h + 0.032 * t + 0.006 * n)
    thumb_mid = thumb_base + s * 0.045 * _unit(0.55 * h + 0.75 * t + 0.35 * n)
    thumb_tip = thumb_mid + s * 0.035 * _unit(0.9 * h + 0.2 * t + (0.3 + 0.5 * closed) * n)
    # Forearm back up toward the shoulder, elbow raised a little (reaching over the table).
    elbow = wrist + s * _FOREARM_LENGTH * _unit(_unit(shoulder - wrist) + [0.0, 0.0, 0.25])
    middle = wrist + 0.4 * (elbow - wrist)

    starts = np.vstack([knuckles, joints, thumb_base, thumb_mid, wrist, middle, elbow])
    ends = np.vstack([joints, tips, thumb_mid, thumb_tip, middle, elbow, shoulder])
    radii = s * np.concatenate(
        [radius[:, 0], 0.95 * radius[:, 0], [0.0105, 0.0100, 0.026, 0.033, 0.036]]
    )
    colours = np.repeat(skin[None], len(radii), axis=0)
    colours[-1] = sleeve
    return [palm, *_capsules(starts, ends, radii, colours)]
