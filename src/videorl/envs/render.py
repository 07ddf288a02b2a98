"""Offscreen MuJoCo rendering for the Sawyer tasks.

Two things live here, both small:

* :func:`configure_gl_backend` chooses the OpenGL backend. MuJoCo reads ``MUJOCO_GL`` once, when
  it is first imported, so the choice has to be made before that import; every module of
  ``videorl.envs`` that renders calls it at import time, before it imports MuJoCo.
* :class:`SawyerRenderer` owns everything that decides what an image looks like: the GL contexts
  (one per image size), the free camera, the scene options and an optional overlay of purely
  visual geoms. Keeping that state in one object is what lets an observation domain
  (``appearance.py``, ``domain_edits.py``) change colours, lighting, the camera pose, hide
  the robot and draw a human hand per episode without touching the task code or the physics.

Speed on a CPU (llvmpipe through OSMesa) is dominated by fill work, so shadows, reflections, the
skybox and multisampling are switched off and llvmpipe is held to one thread: a 48x48 frame then
takes a few milliseconds instead of ~65 ms.
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from videorl.errors import UserError

_EGL_LIBRARIES = ("libEGL.so.1", "libEGL.so")


def _egl_usable() -> bool:
    """True when a GPU device node exists and libEGL can be loaded.

    This is a cheap heuristic (no subprocess, no GL context): a real EGL context is only created
    by MuJoCo later, and a user whose machine fools it can always set ``MUJOCO_GL`` explicitly.
    """
    has_device = os.path.exists("/dev/nvidiactl") or bool(glob.glob("/dev/dri/renderD*"))
    if not has_device:
        return False
    for name in _EGL_LIBRARIES:
        try:
            ctypes.CDLL(name)
        except OSError:
            continue
        return True
    return False


GL_BACKENDS = ("egl", "osmesa", "glfw")
GL_FIX = "unset MUJOCO_GL (videorl picks egl with a GPU, osmesa without) or set egl or osmesa"


def configure_gl_backend() -> str:
    """Choose MuJoCo's offscreen GL backend and return it; a user's settings always win.

    ``MUJOCO_GL`` is left alone when set; otherwise it becomes ``"egl"`` when a GPU with EGL is
    usable and ``"osmesa"`` (software rendering) otherwise. ``PYOPENGL_PLATFORM`` is set to match
    when unset, because PyOpenGL and MuJoCo must agree on the platform. ``LP_NUM_THREADS=1`` keeps
    llvmpipe single-threaded: for tiny frames the thread hand-off costs more than it saves, and
    parallel environments should each own one core.

    Must run before ``mujoco`` is first imported to have any effect; calling it again is harmless.
    """
    backend = os.environ.get("MUJOCO_GL", "").strip().lower()
    if not backend:
        backend = "egl" if _egl_usable() else "osmesa"
        os.environ["MUJOCO_GL"] = backend
    if backend not in GL_BACKENDS:
        raise UserError(f"MUJOCO_GL={os.environ['MUJOCO_GL']} is not a renderer; {GL_FIX}")
    if backend in ("egl", "osmesa"):
        os.environ.setdefault("PYOPENGL_PLATFORM", backend)
    os.environ.setdefault("LP_NUM_THREADS", "1")
    return backend


configure_gl_backend()

import mujoco  # noqa: E402  (must follow configure_gl_backend)
import numpy as np  # noqa: E402

ROBOT_GEOM_GROUP = 3
"""Geom group of the robot's visible geoms. Meta-World leaves group 3 empty; the Sawyer tasks move
the robot's geoms there (``geom_group`` has no effect on the physics once compiled) so that a
domain can hide the whole robot, gripper included, with one scene option and keep the table."""

_SCENE_GEOM_TYPES = {
    "capsule": mujoco.mjtGeom.mjGEOM_CAPSULE,
    "box": mujoco.mjtGeom.mjGEOM_BOX,
    "ellipsoid": mujoco.mjtGeom.mjGEOM_ELLIPSOID,
    "sphere": mujoco.mjtGeom.mjGEOM_SPHERE,
}


class SceneGeom(NamedTuple):
    """A purely visual primitive drawn on top of the model's geoms in one frame.

    It lives only in the render scene (``mjvScene``), never in ``mjModel``/``mjData``, so it can
    neither collide nor weigh anything: the way to show a body that the physics must not know of.
    """

    kind: str
    """One of "capsule", "box", "ellipsoid", "sphere"."""
    size: np.ndarray
    """MuJoCo's (3,) geom size: half-sizes for box/ellipsoid, (radius, half-length, -) capsule."""
    pos: np.ndarray
    """(3,) centre in world coordinates."""
    mat: np.ndarray
    """(9,) row-major rotation whose columns are the geom's local axes in world coordinates."""
    rgba: np.ndarray
    """(4,) colour in [0, 1]."""


Overlay = Callable[[mujoco.MjData], Sequence[SceneGeom]]
"""Maps the current simulator state to the visual geoms to add to that frame."""


@dataclass(frozen=True)
class CameraPose:
    """A free (orbiting) camera: where it looks, from how far, and from which direction.

    A free camera rather than one of the model's named cameras, so that a pose is plain data that
    an observation domain can perturb without editing the XML. Angles are in degrees, as MuJoCo's
    ``mjvCamera`` takes them.
    """

    distance: float
    elevation: float
    azimuth: float
    lookat: tuple[float, float, float]

    def apply(self, camera: mujoco.MjvCamera) -> None:
        """Write this pose into a MuJoCo free camera."""
        camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        camera.fixedcamid = -1
        camera.trackbodyid = -1
        camera.distance = self.distance
        camera.elevation = self.elevation
        camera.azimuth = self.azimuth
        camera.lookat[:] = self.lookat


@dataclass
class RenderSettings:
    """Scene-wide switches that trade image fidelity for speed (all off: fastest on a CPU)."""

    shadows: bool = False
    reflections: bool = False
    skybox: bool = False
    multisamples: int = 0
    show_sites: bool = False
    """Sites are debug markers (goal spheres, end-effector dots); a camera on a real robot would
    not see them, so they stay hidden unless asked for."""
    geom_groups: tuple[int, ...] = field(default=(0, 1, 2, ROBOT_GEOM_GROUP))
    """Geom groups drawn. Meta-World puts collision proxies in group 4 and the visual meshes in
    groups 0-1 (the robot's in ``ROBOT_GEOM_GROUP``), so the default shows what the scene looks
    like, not how it collides."""


class SawyerRenderer:
    """Renders one MuJoCo model from one free camera at any number of square sizes.

    One ``mujoco.Renderer`` (one GL context) is kept per size: the 48x48 observation and the larger
    video frame (``render()``) then share the camera and scene options exactly. The contexts are
    created lazily, so an environment that never calls ``render()`` never pays for the large one.

    MuJoCo's own ``Renderer.close`` frees the GL context before the MjrContext; under OSMesa that
    makes the freeing of the MjrContext hit whichever context is current (another environment's)
    and corrupts its images. :meth:`close` frees in the safe order.
    """

    def __init__(
        self,
        model: mujoco.MjModel,
        camera: CameraPose,
        settings: RenderSettings | None = None,
    ) -> None:
        self._model = model
        self.settings = settings or RenderSettings()
        self.camera = mujoco.MjvCamera()
        self.set_camera(camera)
        self.scene_option = mujoco.MjvOption()
        self._renderers: dict[int, mujoco.Renderer] = {}
        self._overlay: Overlay | None = None
        self._hidden_groups: set[int] = set()
        self._apply_settings()

    @property
    def model(self) -> mujoco.MjModel:
        """The model rendered; observation domains edit its ``geom_rgba``, lights, materials."""
        return self._model

    def set_camera(self, pose: CameraPose) -> None:
        """Move the camera (takes effect on the next frame)."""
        self.pose = pose
        pose.apply(self.camera)

    def hide_geom_group(self, group: int, hidden: bool = True) -> None:
        """Hide one geom group, or show it again if the settings draw it (the hook for hiding
        bodies per domain)."""
        if hidden:
            self._hidden_groups.add(group)
        else:
            self._hidden_groups.discard(group)
        self.scene_option.geomgroup[group] = int(
            group in self.settings.geom_groups and group not in self._hidden_groups
        )

    def set_overlay(self, overlay: Overlay | None) -> None:
        """Draw ``overlay(data)``'s visual-only geoms in every frame (``None``: draw none).

        The geoms are appended to the render scene after the model's, so they are lit, shaded and
        depth-tested like the rest of the scene while the model and the physics never see them.
        """
        self._overlay = overlay

    def _apply_settings(self) -> None:
        s = self.settings
        # Read by mjr_makeContext, so it must be set before any GL context exists.
        self._model.vis.quality.offsamples = s.multisamples
        self.scene_option.sitegroup[:] = 1 if s.show_sites else 0
        self.scene_option.geomgroup[:] = 0
        for group in s.geom_groups:
            self.scene_option.geomgroup[group] = int(group not in self._hidden_groups)
        for renderer in self._renderers.values():
            self._apply_scene_flags(renderer)

    def _apply_scene_flags(self, renderer: mujoco.Renderer) -> None:
        flags = renderer.scene.flags
        flags[mujoco.mjtRndFlag.mjRND_SHADOW] = self.settings.shadows
        flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = self.settings.reflections
        flags[mujoco.mjtRndFlag.mjRND_SKYBOX] = self.settings.skybox

    def _renderer(self, size: int) -> mujoco.Renderer:
        renderer = self._renderers.get(size)
        if renderer is None:
            vis = self._model.vis.global_
            vis.offwidth = max(vis.offwidth, size)
            vis.offheight = max(vis.offheight, size)
            if os.environ.get("MUJOCO_GL") == "glfw" and not os.environ.get("DISPLAY"):
                raise UserError(f"MUJOCO_GL=glfw needs a display, and DISPLAY is not set; {GL_FIX}")
            try:
                renderer = mujoco.Renderer(self._model, height=size, width=size)
            except (mujoco.FatalError, RuntimeError, OSError) as exc:  # no usable GL context
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise UserError(
                    f"cannot render with MUJOCO_GL={os.environ.get('MUJOCO_GL')} ({first}); "
                    f"{GL_FIX}"
                ) from None
            self._apply_scene_flags(renderer)
            self._renderers[size] = renderer
        return renderer

    def render(self, data: mujoco.MjData, size: int) -> np.ndarray:
        """Draw the current state as a ``(size, size, 3)`` uint8 RGB image (rows top to bottom)."""
        renderer = self._renderer(size)
        renderer.update_scene(data, camera=self.camera, scene_option=self.scene_option)
        if self._overlay is not None:
            _add_scene_geoms(renderer.scene, self._overlay(data))
        return renderer.render()

    def close(self) -> None:
        """Free every GL resource, each context made current before its MjrContext is freed."""
        for renderer in self._renderers.values():
            gl_context = getattr(renderer, "_gl_context", None)
            mjr_context = getattr(renderer, "_mjr_context", None)
            if gl_context is not None and mjr_context is not None:
                gl_context.make_current()
                mjr_context.free()
                renderer._mjr_context = None
            if gl_context is not None:
                gl_context.free()
                renderer._gl_context = None
        self._renderers.clear()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: modules may already be gone
            pass


def _add_scene_geoms(scene: mujoco.MjvScene, geoms: Sequence[SceneGeom]) -> None:
    """Append visual-only geoms to a scene that ``update_scene`` has just filled."""
    if scene.ngeom + len(geoms) > scene.maxgeom:
        raise RuntimeError(f"render scene full: {scene.ngeom} + {len(geoms)} > {scene.maxgeom}")
    for geom in geoms:
        target = scene.geoms[scene.ngeom]
        mujoco.mjv_initGeom(
            target,
            _SCENE_GEOM_TYPES[geom.kind],
            np.asarray(geom.size, dtype=np.float64),
            np.asarray(geom.pos, dtype=np.float64),
            np.asarray(geom.mat, dtype=np.float64).reshape(9),
            np.asarray(geom.rgba, dtype=np.float32),
        )
        scene.ngeom += 1
