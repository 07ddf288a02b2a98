"""Applying a domain's appearance to a scene: MuJoCo model edits and acrobot drawing parameters.

How the physics is kept out of it, for the Sawyer tasks: colours and lights are model fields that
only the renderer reads (``geom_rgba``, ``geom_matid``, ``light_*``, ``vis.headlight``); the
camera is the renderer's free camera; the robot is hidden through a geom group
(``scene_option``); the hand is a set of :class:`~videorl.envs.render.SceneGeom` added to the
render scene after each ``update_scene``, so it never exists in ``mjModel``/``mjData``. The
acrobot is drawn with numpy, so there a domain is a set of drawing parameters.

This module imports numpy only; the MuJoCo-facing pieces are imported when a Sawyer environment
applies a domain.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from videorl.envs.appearance import (
    RGB,
    Appearance,
    DomainRandom,
    Lighting,
    check_domain,
    sample_appearance,
)
from videorl.envs.hand import HandPose, hand_geoms

if TYPE_CHECKING:  # pragma: no cover - typing only; importing render loads MuJoCo
    import mujoco

    from videorl.envs.render import CameraPose, SawyerRenderer


# ----------------------------------------------------------------------------- Sawyer scenes
_ARM_RGBA = np.array([0.5, 0.1, 0.1])  # the Sawyer's red links


class SawyerDomain:
    """Applies one domain to a Sawyer task's renderer and model colours, once per episode.

    Only render-side fields change: ``geom_rgba``, ``geom_matid``, ``light_dir``,
    ``light_diffuse``, ``light_ambient``, ``light_specular``, ``vis.headlight`` (all read only by
    ``mjv_updateScene``), the renderer's camera, which geom groups it draws, and its overlay. The
    originals are kept, and each episode starts from them.
    """

    def __init__(
        self,
        domain: str,
        model: mujoco.MjModel,
        renderer: SawyerRenderer,
        *,
        robot_root: int,
        hand_pose: Callable[[mujoco.MjData], HandPose],
    ) -> None:
        self.name = check_domain(domain)
        self._model = model
        self._renderer = renderer
        self._camera: CameraPose = renderer.pose
        self._hand_pose = hand_pose
        self._random = DomainRandom(domain)
        self._base_rgba = model.geom_rgba.copy()
        self._base_matid = model.geom_matid.copy()
        self._base_light = {
            field: getattr(model, field).copy()
            for field in ("light_dir", "light_diffuse", "light_ambient", "light_specular")
        }
        headlight = model.vis.headlight
        self._base_headlight = (headlight.ambient.copy(), headlight.diffuse.copy())
        self._groups = self._classify_geoms(robot_root)
        self.appearance = Appearance(domain=self.name)

    def _classify_geoms(self, robot_root: int) -> dict[str, Any]:
        """Sort the visible geoms into floor, table, walls, arm, trim and object parts."""
        from videorl.envs.render import ROBOT_GEOM_GROUP

        m = self._model
        roots = {m.body(i).name: i for i in range(m.nbody) if m.body_parentid[i] == 0 and i}
        table, walls = roots.get("tablelink", -2), roots.get("RetainingWall", -2)
        groups: dict[str, Any] = {key: [] for key in ("floor", "table", "walls", "arm", "trim")}
        parts: dict[tuple, list[int]] = {}
        for g in range(m.ngeom):
            if m.geom_group[g] > ROBOT_GEOM_GROUP:  # collision proxies, never drawn
                continue
            body = int(m.geom_bodyid[g])
            root = int(m.body_rootid[body])
            if body == 0:
                groups["floor"].append(g)
            elif root == table:
                groups["table"].append(g)
            elif root == walls:
                groups["walls"].append(g)
            elif root == robot_root:
                is_arm = np.allclose(m.geom_rgba[g, :3], _ARM_RGBA)
                groups["arm" if is_arm else "trim"].append(g)
            elif m.body_mocapid[root] < 0 and m.geom_rgba[g, 3] > 0:
                key = (int(m.geom_matid[g]), *np.round(m.geom_rgba[g], 3))
                parts.setdefault(key, []).append(g)
        groups["objects"] = list(parts.values())
        return groups

    def new_episode(self, seed: int | None, fallback_seed: int | None = None) -> Appearance:
        """Draw this episode's look and apply it (called by ``reset`` before any frame)."""
        generators = self._random.episode(seed, fallback_seed)
        look = sample_appearance(self.name, generators, len(self._groups["objects"]))
        self._apply(look)
        self.appearance = look
        return look

    def _apply(self, look: Appearance) -> None:
        from videorl.envs.render import ROBOT_GEOM_GROUP

        m = self._model
        m.geom_rgba[:] = self._base_rgba
        m.geom_matid[:] = self._base_matid
        for field, base in self._base_light.items():
            getattr(m, field)[:] = base
        m.vis.headlight.ambient[:], m.vis.headlight.diffuse[:] = self._base_headlight
        if look.recolor is not None:
            colours = look.recolor
            for key in ("floor", "table", "walls", "arm", "trim"):
                m.geom_rgba[self._groups[key], :3] = getattr(colours, key)
            for geoms, colour in zip(self._groups["objects"], colours.objects, strict=True):
                m.geom_rgba[geoms, :3] = colour
                m.geom_matid[geoms] = -1  # flat colour: a dark texture would swallow it
            if colours.plain_table:
                m.geom_matid[self._groups["table"]] = -1
        if look.lighting is not None:
            self._apply_lighting(look.lighting)
        camera = self._camera
        if look.camera is not None:
            shift = look.camera
            camera = dataclasses.replace(
                camera,
                azimuth=camera.azimuth + shift.azimuth,
                elevation=camera.elevation + shift.elevation,
                lookat=tuple(float(a + b) for a, b in zip(camera.lookat, shift.lookat)),
                distance=camera.distance * shift.distance,
            )
        self._renderer.set_camera(camera)
        self._renderer.hide_geom_group(ROBOT_GEOM_GROUP, look.hand is not None)
        if look.hand is None:
            self._renderer.set_overlay(None)
        else:
            style, pose_of = look.hand, self._hand_pose
            self._renderer.set_overlay(lambda data: hand_geoms(pose_of(data), style))

    def _apply_lighting(self, light: Lighting) -> None:
        m = self._model
        tint = np.array(light.tint)
        yaw, pitch = np.deg2rad(light.yaw), np.deg2rad(light.pitch)
        for i in range(m.nlight):
            base = self._base_light["light_dir"][i]
            heading = np.arctan2(base[1], base[0]) + yaw
            m.light_dir[i] = (
                np.cos(pitch) * np.cos(heading),
                np.cos(pitch) * np.sin(heading),
                -np.sin(pitch),
            )
        key = light.exposure * light.key_share
        ambient = light.exposure * light.ambient_share
        rest = max(light.exposure - key - ambient, 0.0)
        fill = 0.3 * rest / max(m.nlight - 1, 1)
        intensity = np.full((m.nlight, 1), fill)
        intensity[:1] = key
        m.light_diffuse[:] = intensity * tint
        m.light_specular[:] = intensity * tint
        m.vis.headlight.ambient[:] = ambient * tint
        m.vis.headlight.diffuse[:] = (rest - fill * (m.nlight - 1)) * tint


# ----------------------------------------------------------------------------- acrobot
@dataclass(frozen=True)
class AcrobotLook:
    """Drawing parameters of the numpy acrobot for one episode; the defaults are the robot view."""

    background: RGB = (1.0, 1.0, 1.0)
    links: RGB = (0.0, 0.8, 0.8)
    joints: RGB = (0.8, 0.8, 0.0)
    goal_line: RGB = (0.0, 0.0, 0.0)
    gain: float = 1.0
    """Overall brightness."""
    tint: RGB = (1.0, 1.0, 1.0)
    light_angle: float = 0.0
    """Direction (radians, in the image plane) the light comes from."""
    light_falloff: float = 0.0
    """Brightness change across the image along ``light_angle`` (0: flat light)."""
    shift: tuple[float, float] = (0.0, 0.0)
    """Where the pivot is drawn, in link lengths from the image centre."""
    zoom: float = 1.0

    @classmethod
    def for_appearance(cls, look: Appearance) -> AcrobotLook:
        """Map the domain's draws onto the 2-D drawing."""
        values: dict[str, Any] = {}
        if look.recolor is not None:
            c = look.recolor
            values.update(background=c.table, links=c.objects[0], joints=c.objects[1])
            values["goal_line"] = c.arm  # kept apart from the background, like the links
        if look.lighting is not None:
            light = look.lighting
            values["gain"] = light.exposure
            values.update(tint=light.tint, light_angle=np.deg2rad(light.yaw))
            values["light_falloff"] = 0.5 * np.cos(np.deg2rad(light.pitch))
        if look.camera is not None:
            cam = look.camera
            values["shift"] = (cam.azimuth / 8.0 * 0.25, cam.elevation / 6.0 * 0.25)
            values["zoom"] = 1.0 + (cam.distance - 1.0) * 1.7
        return cls(**values)


ACROBOT_DOMAINS: tuple[str, ...] = ("robot", "recolor", "lighting", "camera")
"""What the acrobot can show: it has no arm to swap for a hand."""
