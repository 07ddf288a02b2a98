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

This module names the domains and draws each episode's :class:`Appearance`; ``hand.py`` builds
the human hand's geometry, ``domain_edits.py`` applies an appearance to a scene and
``preview.py`` draws one frame per domain.

This module imports numpy only (the environment registry reads its names without MuJoCo).
"""

from __future__ import annotations

import colorsys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from videorl.errors import UserError

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
