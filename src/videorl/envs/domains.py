"""Observation domains: the same physics and task, seen as another embodiment would be filmed.

Real human videos cannot be downloaded where videorl is developed, so it renders its own
"other-embodiment" videos. A domain changes only what the camera sees:

* ``robot``: what the agent sees (nothing changed).
* ``recolor``: table, object, arm and background/floor colours.
* ``lighting``: light direction, intensity and colour.
* ``camera``: the viewpoint, moved a few degrees and centimetres.
* ``hand``: the Sawyer hidden; a human-like hand and forearm follows the end-effector.
* ``human``: hand + recolor + lighting + camera, the stand-in for human videos (RLV Section 4.3).

Every factor is redrawn per episode from a generator derived from the reset seed and kept apart
from the environment's physics generator, so one seeded rollout (same reset seed, same actions)
gives the identical state trajectory in every domain while its pixels differ.

How the physics is kept out of it, for the Sawyer tasks: colours and lights are model fields that
only the renderer reads (``geom_rgba``, ``geom_matid``, ``light_*``, ``vis.headlight``); the
camera is the renderer's free camera; the robot is hidden through a geom group
(``scene_option``); the hand is a set of :class:`~videorl.envs.render.SceneGeom` added to the
render scene after each ``update_scene``, so it never exists in ``mjModel``/``mjData``. The
acrobot is drawn with numpy, so there a domain is a set of drawing parameters.

This module imports numpy only (the environment registry reads its names without MuJoCo); the
MuJoCo-facing pieces are imported when a Sawyer environment applies a domain.
"""

from __future__ import annotations

import colorsys
import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from videorl.errors import UserError

if TYPE_CHECKING:  # pragma: no cover - typing only; importing render loads MuJoCo
    import mujoco

    from videorl.envs.render import CameraPose, SawyerRenderer, SceneGeom

DOMAINS: tuple[str, ...] = ("robot", "recolor", "lighting", "camera", "hand", "human")
"""Observation domain names, in the order a preview shows them."""

DOMAIN_HELP: dict[str, str] = {
    "robot": "what the agent sees: the task rendered unchanged",
    "recolor": "table, object(s), arm and background/floor colours redrawn per episode",
    "lighting": "light direction, intensity (diffuse/ambient) and colour redrawn per episode",
    "camera": "viewpoint moved a few degrees (azimuth/elevation) and centimetres per episode",
    "hand": "robot hidden; a human-like hand and forearm follows the end-effector",
    "human": "hand + recolor + lighting + camera: the stand-in for human videos",
}

FACTORS: dict[str, tuple[str, ...]] = {
    "robot": (),
    "recolor": ("recolor",),
    "lighting": ("lighting",),
    "camera": ("camera",),
    "hand": ("hand",),
    "human": ("hand", "recolor", "lighting", "camera"),
}
"""The visual factors each domain randomises."""

_SEED_SALT = 0x0D0_5EED
"""Mixed into the reset seed so the domain stream never equals the physics stream."""
_FACTOR_SALT = {"recolor": 1, "lighting": 2, "camera": 3, "hand": 4}
"""One generator per factor: ``human`` draws the same colours as ``recolor`` for a seed."""


class UnknownDomainError(UserError):
    """Raised for a domain name that does not exist, or that the environment cannot render."""


def check_domain(domain: str, *, available: Sequence[str] = DOMAINS, env_name: str = "") -> str:
    """Return ``domain`` if ``env_name`` can render it, else raise a one-line UnknownDomainError.

    ``available`` lists what the environment supports (all of :data:`DOMAINS` for the Sawyer
    tasks); a known domain outside it gets a message naming the environment.
    """
    if domain not in DOMAINS:
        raise UnknownDomainError(
            f"unknown observation domain {domain!r}; valid domains: {', '.join(DOMAINS)}"
        )
    if domain not in available:
        choices = ", ".join(available[:-1]) + " or " * (len(available) > 1) + available[-1]
        raise UnknownDomainError(f"{env_name} has no {domain} domain; use {choices}")
    return domain


class DomainRandom:
    """The per-episode random source of a domain: one generator per visual factor.

    A seeded reset rebuilds the generators from ``[seed, salt, factor]``; an unseeded reset keeps
    drawing from the current ones, the way gymnasium treats its own generator. The environment's
    physics generator is never touched, which is what keeps trajectories identical across domains.
    """

    def __init__(self, domain: str) -> None:
        self.factors = FACTORS[domain]
        self._generators: dict[str, np.random.Generator] | None = None

    def episode(
        self, seed: int | None, fallback_seed: int | None = None
    ) -> dict[str, np.random.Generator]:
        """Generators for a new episode. ``fallback_seed`` (the env's own seed, when known) is
        used for a first reset without a seed; without either, fresh OS entropy is used."""
        if seed is not None or self._generators is None:
            base = seed if seed is not None else fallback_seed
            if base is None or base < 0:
                base = int(np.random.SeedSequence().entropy)  # unseeded, as gymnasium does
            self._generators = {
                factor: np.random.default_rng([int(base), _SEED_SALT, _FACTOR_SALT[factor]])
                for factor in self.factors
            }
        return self._generators


# ----------------------------------------------------------------------------- colours
RGB = tuple[float, float, float]


def _hsv(
    rng: np.random.Generator,
    sat: tuple[float, float],
    val: tuple[float, float],
    hue: float | None = None,
) -> RGB:
    """A random colour in a saturation/value box (any hue unless ``hue`` is given)."""
    h = rng.uniform(0.0, 1.0) if hue is None else hue % 1.0
    rgb = colorsys.hsv_to_rgb(h, rng.uniform(*sat), rng.uniform(*val))
    return (float(rgb[0]), float(rgb[1]), float(rgb[2]))


def _distinct(
    rng: np.random.Generator,
    draws: Sequence[Callable[[np.random.Generator], RGB]],
    avoid: Sequence[tuple[RGB, float]],
) -> RGB:
    """Draw a colour at least ``distance`` (RGB, Euclidean) from each ``(colour, distance)``.

    Rejection sampling: each of ``draws`` (a preferred one first, then a looser one) gets a
    bounded number of tries, so an impossible request still returns the draw with the most
    slack instead of looping; with the ranges used here the preferred draw almost always
    succeeds.
    """
    best, best_slack = (0.0, 0.0, 0.0), -np.inf
    for draw in draws:
        for _ in range(32):
            colour = draw(rng)
            slack = min(float(np.linalg.norm(np.subtract(colour, c))) - d for c, d in avoid)
            if slack >= 0.0:
                return colour
            if slack > best_slack:
                best, best_slack = colour, slack
    return best


@dataclass(frozen=True)
class Recolor:
    """New colours for one episode (RGB in [0, 1])."""

    table: RGB
    plain_table: bool
    """True: the table loses its wood texture (a plain top); False: the wood is tinted."""
    floor: RGB
    walls: RGB
    arm: RGB
    """The robot's links (red on the Sawyer; the acrobot's links)."""
    trim: RGB
    """The robot's other parts: pedestal, gripper pads (the acrobot's joints)."""
    objects: tuple[RGB, ...]
    """One flat colour per object part (puck; door and handle; drawer and handle)."""

    @classmethod
    def sample(cls, rng: np.random.Generator, n_objects: int) -> Recolor:
        """A mid-bright table; saturated objects and arm kept clearly apart from it.

        Object parts get hues spread around the colour wheel (a handle never takes its door's
        hue); distances are between nominal colours (Euclidean in RGB): objects at least 0.45
        from the table and 0.3 from each other, the arm at least 0.35 from the table, the objects
        and the Sawyer's own red, so every recolouring is visibly one.
        """
        plain_table = bool(rng.random() < 0.5)
        # A plain top is lit as is, a tinted one is darkened by the wood: keep both mid-bright.
        table = _hsv(rng, (0.15, 0.6), (0.35, 0.75) if plain_table else (0.55, 1.0))
        objects: list[RGB] = []
        first_hue = rng.uniform(0.0, 1.0)
        for i in range(n_objects):
            hue = first_hue + 0.38 * i + rng.uniform(-0.04, 0.04)
            spread = lambda r, h=hue: _hsv(r, (0.55, 1.0), (0.4, 1.0), h)  # noqa: E731
            anywhere = lambda r: _hsv(r, (0.55, 1.0), (0.4, 1.0))  # noqa: E731
            avoid = [(table, 0.45)] + [(other, 0.3) for other in objects]
            objects.append(_distinct(rng, [spread, anywhere], avoid))
        robot_red = (0.5, 0.1, 0.1)
        arm = _distinct(
            rng,
            [lambda r: _hsv(r, (0.4, 1.0), (0.3, 0.95))],
            [(colour, 0.35) for colour in (table, *objects, robot_red)],
        )
        return cls(
            table=table,
            plain_table=plain_table,
            floor=_hsv(rng, (0.0, 0.5), (0.3, 1.0)),
            walls=_hsv(rng, (0.0, 0.5), (0.3, 1.0)),
            arm=arm,
            trim=_hsv(rng, (0.0, 0.3), (0.1, 0.9)),
            objects=tuple(objects),
        )


@dataclass(frozen=True)
class Lighting:
    """Light direction, intensity and colour for one episode: a key light, fills and ambient.

    OpenGL clamps the summed light to 1 before it multiplies the textures, and the tasks' own
    lights sum to about 1.5, so a tint or a new direction on top of them would hardly show.
    Here the total (``exposure``) stays at or below 1: the key light's direction and the colour
    then decide the look, and the scene gets darker or casts a colour but never washes out.
    """

    yaw: float
    """Degrees every directional light is turned about the vertical."""
    pitch: float
    """Degrees below the horizon every directional light then points (low: a dimmer table)."""
    exposure: float
    """Total light intensity (0.8 to 1.15; the tasks' own sums to about 1.5, clamped to 1)."""
    key_share: float
    """Share of ``exposure`` given to the key light (the first directional light)."""
    ambient_share: float
    """Share given to ambient light; the rest goes to the headlight and the fill lights."""
    tint: RGB
    """Light colour (max channel 1): warm to cool, with a small random cast."""

    @classmethod
    def sample(cls, rng: np.random.Generator) -> Lighting:
        """Ranges that change the look clearly but never black out the task."""
        warmth = rng.uniform(-1.0, 1.0)
        warm, cool = np.array([1.0, 0.72, 0.45]), np.array([0.55, 0.75, 1.0])
        tint = (warm if warmth > 0 else cool) * abs(warmth) + (1 - abs(warmth))
        tint = tint * rng.uniform(0.85, 1.0, 3)
        tint = tint / tint.max()
        return cls(
            yaw=float(rng.uniform(-180.0, 180.0)),
            pitch=float(rng.uniform(35.0, 85.0)),
            exposure=float(rng.uniform(0.8, 1.15)),
            key_share=float(rng.uniform(0.4, 0.75)),
            ambient_share=float(rng.uniform(0.15, 0.35)),
            tint=(float(tint[0]), float(tint[1]), float(tint[2])),
        )


@dataclass(frozen=True)
class CameraShift:
    """How far the camera moves from the task's pose for one episode."""

    azimuth: float
    """Degrees added to the azimuth (3 to 8 either way)."""
    elevation: float
    """Degrees added to the elevation (2 to 6 either way)."""
    lookat: tuple[float, float, float]
    """Metres added to the look-at point (up to 3 cm per axis)."""
    distance: float
    """Factor on the camera distance (0.93 to 1.07: a few centimetres at the tasks' distances)."""

    @classmethod
    def sample(cls, rng: np.random.Generator) -> CameraShift:
        """Never zero: a move of at least 3 degrees in azimuth and 2 in elevation."""
        sign = rng.choice([-1.0, 1.0], size=2)
        lookat = rng.uniform(-0.03, 0.03, 3)
        return cls(
            azimuth=float(sign[0] * rng.uniform(3.0, 8.0)),
            elevation=float(sign[1] * rng.uniform(2.0, 6.0)),
            lookat=(float(lookat[0]), float(lookat[1]), float(lookat[2])),
            distance=float(rng.uniform(0.93, 1.07)),
        )


_SKIN_TONES = np.array(
    [
        [0.98, 0.83, 0.73],
        [0.88, 0.66, 0.52],
        [0.70, 0.48, 0.34],
        [0.45, 0.29, 0.19],
    ]
)


@dataclass(frozen=True)
class HandStyle:
    """The person whose hand replaces the robot, for one episode."""

    skin: RGB
    sleeve: RGB
    """Colour of the upper arm (a shirt sleeve)."""
    scale: float
    """Hand and forearm size relative to a mid-sized adult hand (1.0 to 1.25: a little large,
    so that the hand still reads as one in a 48x48 frame)."""
    shoulder: tuple[float, float, float]
    """World point the arm reaches from: near the Sawyer's own shoulder (the person stands
    where the robot stands), so the arm enters the picture where the robot's arm does."""

    @classmethod
    def sample(cls, rng: np.random.Generator) -> HandStyle:
        """A skin tone from light to dark, a random shirt, size and stance."""
        t = rng.uniform(0.0, len(_SKIN_TONES) - 1)
        i = min(int(t), len(_SKIN_TONES) - 2)
        skin = _SKIN_TONES[i] + (t - i) * (_SKIN_TONES[i + 1] - _SKIN_TONES[i])
        return cls(
            skin=(float(skin[0]), float(skin[1]), float(skin[2])),
            sleeve=_hsv(rng, (0.0, 0.8), (0.15, 0.9)),
            scale=float(rng.uniform(1.0, 1.25)),
            shoulder=(
                float(rng.uniform(-0.12, 0.08)),
                float(rng.uniform(-0.05, 0.1)),
                float(rng.uniform(0.45, 0.6)),
            ),
        )


@dataclass(frozen=True)
class Appearance:
    """Everything one episode's domain drew; ``None`` for factors the domain leaves alone."""

    domain: str
    recolor: Recolor | None = None
    lighting: Lighting | None = None
    camera: CameraShift | None = None
    hand: HandStyle | None = None


def sample_appearance(
    domain: str, generators: dict[str, np.random.Generator], n_objects: int
) -> Appearance:
    """Draw each of the domain's factors from its own generator."""
    draws: dict[str, Any] = {}
    if "recolor" in generators:
        draws["recolor"] = Recolor.sample(generators["recolor"], n_objects)
    if "lighting" in generators:
        draws["lighting"] = Lighting.sample(generators["lighting"])
    if "camera" in generators:
        draws["camera"] = CameraShift.sample(generators["camera"])
    if "hand" in generators:
        draws["hand"] = HandStyle.sample(generators["hand"])
    return Appearance(domain=domain, **draws)


# ----------------------------------------------------------------------------- the human hand
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


# ----------------------------------------------------------------------------- preview
def preview_domains(
    env_name: str,
    path: str | os.PathLike[str],
    *,
    seed: int = 0,
    size: int = 128,
    steps: int = 0,
) -> Path:
    """Write one frame per domain side by side, each labelled, as a PNG; return its path.

    Each panel is the episode reset with ``seed`` after ``steps`` steps of the task's scripted
    expert (0: the first frame). The physics is the same in every domain, so the panels show
    one state seen through each domain. The image is ``n_domains * size`` wide (a label strip
    sits above the frames) and is written atomically: a failure leaves no partial file.
    """
    from PIL import Image, ImageDraw

    from videorl.envs.registry import GYM_PREFIX, TASKS, UnknownEnvError, expert_policy, make_env

    target = Path(path)
    if target.suffix.lower() != ".png":
        raise UserError(f"preview path must end in .png, got {str(target)!r}")
    if env_name.startswith(GYM_PREFIX) or env_name not in TASKS:
        raise UnknownEnvError(
            f"no domain preview for {env_name!r}: previews exist for the videorl tasks "
            f"({', '.join(TASKS)})"
        )
    if size < 16:
        raise UserError(f"preview size must be at least 16 pixels, got {size}")
    if steps < 0:
        raise UserError(f"preview steps must be 0 or more, got {steps}")
    domains = ACROBOT_DOMAINS if env_name == "acrobot" else DOMAINS
    label_height = 14
    sheet = Image.new("RGB", (size * len(domains), size + label_height), (32, 32, 32))
    draw = ImageDraw.Draw(sheet)
    for i, domain in enumerate(domains):
        env = make_env(env_name, render_size=size, domain=domain)
        try:
            observation, _ = env.reset(seed=seed)
            policy = expert_policy(env)
            for _ in range(steps):
                observation, _, terminated, truncated, _ = env.step(policy(observation))
                if terminated or truncated:
                    break
            frame = env.render()
        finally:
            env.close()
        sheet.paste(Image.fromarray(frame), (i * size, label_height))
        draw.text((i * size + 3, 1), domain, fill=(240, 240, 240))
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")  # same folder: atomic
    try:
        sheet.save(temporary, format="PNG")
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target
