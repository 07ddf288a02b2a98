"""Writing an observation dataset (the layout is described in ``videorl.data.manifest``).

Every writer goes through :class:`DatasetWriter`, which builds the dataset in a hidden
temporary folder next to the target and renames it into place only when complete, so a crash
or a bad input never leaves a half-written dataset that looks valid. Episodes are saved with
:func:`save_npz`, whose bytes depend only on the arrays, so a seeded collection is
byte-identical.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import zipfile
from pathlib import Path
from types import TracebackType

import numpy as np

from videorl.atomic import publish_dir, staging_dir
from videorl.data.manifest import (
    EPISODES,
    GROUNDTRUTH,
    KINDS,
    MANIFEST,
    SOURCES,
    DatasetError,
    Manifest,
    episode_name,
    is_number,
)


def videorl_version() -> str:
    """The installed videorl version, recorded in provenance so a dataset says what made it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("videorl")
    except PackageNotFoundError:
        return "unknown"


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed`` (same format, loadable by ``np.load``), but with a fixed
    timestamp on every zip entry, so equal arrays always give equal bytes."""
    path = Path(path).with_suffix(".npz")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buffer.getvalue())


class DatasetWriter:
    """Builds a dataset in a hidden temporary folder beside ``out`` and renames it into place
    on :meth:`finish`, so ``out`` either does not exist or is a complete, valid dataset.

    Use as a context manager: leaving the block with an exception aborts (removes the
    temporary folder); leaving it normally finishes if :meth:`finish` was not called.
    ``provenance`` should hold at least ``command`` and ``seed``; ``videorl_version`` and
    ``created`` are filled in when absent. ``fps`` may be reassigned before :meth:`finish`
    (the importer learns the rate from the videos it reads).
    """

    def __init__(
        self,
        out: str | Path,
        *,
        task: str,
        domain: str,
        source: str,
        fps: float,
        provenance: dict,
        kind: str = "frames",
    ) -> None:
        if source not in SOURCES:
            raise DatasetError(f"dataset source {source!r} is not one of {', '.join(SOURCES)}")
        if kind not in KINDS:
            raise DatasetError(f"dataset kind {kind!r} is not one of {', '.join(KINDS)}")
        if not isinstance(task, str) or not task:
            raise DatasetError(f"dataset task {task!r} must be a non-empty string")
        if not isinstance(domain, str) or not domain:
            raise DatasetError(f"dataset domain {domain!r} must be a non-empty string")
        if not is_number(fps) or fps <= 0:
            raise DatasetError(f"dataset fps {fps!r} must be a positive number")
        if not isinstance(provenance, dict):
            raise DatasetError("dataset provenance must be a dict (command, seed, ...)")
        prov = {"command": "", "seed": None, **provenance}
        prov.setdefault("videorl_version", videorl_version())
        # No wall-clock time unless the caller records one: a seeded collection must be
        # byte-identical (importers pass ``created``).
        try:
            json.dumps(prov, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise DatasetError(f"dataset provenance is not plain JSON: {e}") from None

        self.out = Path(out)
        if self.out.exists():
            raise DatasetError(
                f"{self.out} already exists; choose a new --out folder or remove the old one"
            )
        parent = self.out.absolute().parent
        # Parents this writer creates are removed again on abort: nothing is left behind.
        self._made_parents = [p for p in (parent, *parent.parents) if not p.exists()]
        self._tmp: Path | None = None
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self._tmp = staging_dir(parent / self.out.name)
            (self._tmp / EPISODES).mkdir()
        except OSError as e:
            self.abort()
            self._remove_made_parents()
            raise DatasetError(
                f"cannot write the dataset into {parent} ({e.strerror or e}); "
                "choose an --out folder you can write to"
            ) from None

        self.task, self.domain, self.source, self.kind = task, domain, source, kind
        self.fps = float(fps)
        self.provenance = prov
        self._lengths: list[int] = []
        self._success: list[bool | None] = []
        self._returns: list[float | None] = []
        self._names: list[str | None] = []
        self._shape: tuple[int, ...] | None = None  # (H, W, 3) or (D,)
        self._gt_fields: list[str] | None = None
        self._finished = False

    @property
    def num_episodes(self) -> int:
        return len(self._lengths)

    @property
    def tmp_path(self) -> Path | None:
        """The temporary folder being written (None once finished or aborted)."""
        return self._tmp

    def _check_data(self, data: np.ndarray) -> None:
        i = self.num_episodes
        what = f"episode {i}"
        if not isinstance(data, np.ndarray):
            raise DatasetError(f"{what}: expected a numpy array, got {type(data).__name__}")
        if self.kind == "frames":
            if data.dtype != np.uint8:
                raise DatasetError(f"{what}: frames have dtype {data.dtype}, expected uint8")
            if data.ndim != 4 or data.shape[-1] != 3:
                raise DatasetError(
                    f"{what}: frames have shape {data.shape}, expected (T, H, W, 3) RGB"
                )
        else:
            if data.dtype != np.float32:
                raise DatasetError(
                    f"{what}: observations have dtype {data.dtype}, expected float32"
                )
            if data.ndim != 2:
                raise DatasetError(f"{what}: observations have shape {data.shape}, expected (T, D)")
            if not np.isfinite(data).all():
                raise DatasetError(f"{what}: observations contain NaN or inf")
        if data.shape[0] < 2:
            raise DatasetError(
                f"{what}: has {data.shape[0]} frame(s); an episode needs at least 2 "
                "(one transition)"
            )
        if self._shape is not None and data.shape[1:] != self._shape:
            raise DatasetError(
                f"{what}: shape {data.shape[1:]} per step differs from the dataset's "
                f"{self._shape}; resize every episode to one size"
            )

    def add_episode(
        self,
        data: np.ndarray,
        *,
        success: bool | None = None,
        ret: float | None = None,
        groundtruth: dict[str, np.ndarray] | None = None,
        name: str | None = None,
    ) -> None:
        """Write one episode: frames (T, H, W, 3) uint8 or observations (T, D) float32, T >= 2.

        ``groundtruth`` holds per-transition arrays (leading dimension T - 1), e.g.
        ``{"actions": (T-1, A) float32, "rewards": (T-1,) float32}``; either every episode
        has it with the same fields or none does. ``name`` records where the episode came
        from (e.g. the video file) in the manifest.
        """
        if self._tmp is None:
            raise DatasetError("DatasetWriter is already finished or aborted")
        self._check_data(data)
        i = self.num_episodes
        t = data.shape[0]
        if success is not None and not isinstance(success, bool | np.bool_):
            raise DatasetError(f"episode {i}: success must be a bool or None, got {success!r}")
        if ret is not None:
            try:
                value = float(ret)
            except (TypeError, ValueError):
                value = math.nan
            if not math.isfinite(value):
                raise DatasetError(f"episode {i}: return {ret!r} must be a finite number")
            ret = value
        gt = self._check_groundtruth(groundtruth, t)

        key = "frames" if self.kind == "frames" else "observations"
        save_npz(self._tmp / EPISODES / episode_name(i), {key: data})
        if gt is not None:
            gt_dir = self._tmp / GROUNDTRUTH
            gt_dir.mkdir(exist_ok=True)
            save_npz(gt_dir / episode_name(i), gt)
        self._shape = data.shape[1:]
        self._gt_fields = None if gt is None else sorted(gt)
        self._lengths.append(int(t))
        self._success.append(None if success is None else bool(success))
        self._returns.append(ret)
        self._names.append(name)

    def _check_groundtruth(
        self, groundtruth: dict[str, np.ndarray] | None, t: int
    ) -> dict[str, np.ndarray] | None:
        i = self.num_episodes
        fields = None if groundtruth is None else sorted(groundtruth)
        if i > 0 and fields != self._gt_fields:
            raise DatasetError(
                f"episode {i}: groundtruth fields {fields} differ from episode 0's "
                f"{self._gt_fields}; give every episode the same groundtruth or none"
            )
        if groundtruth is None:
            return None
        if not groundtruth:
            raise DatasetError(f"episode {i}: groundtruth is an empty dict; pass None instead")
        out = {}
        for k, v in groundtruth.items():
            if not isinstance(k, str) or not k.isidentifier():
                raise DatasetError(f"episode {i}: groundtruth field {k!r} is not a valid name")
            v = np.asarray(v)
            if v.dtype == object or v.ndim == 0 or v.shape[0] != t - 1:
                raise DatasetError(
                    f"episode {i}: groundtruth field {k!r} has shape {v.shape} and dtype "
                    f"{v.dtype}; expected a numeric array with {t - 1} rows (one per transition)"
                )
            out[k] = v
        return out

    def manifest(self) -> Manifest:
        """The manifest as it will be written (also useful to inspect before finishing);
        raises DatasetError while no episode has been added."""
        known_s = [s for s in self._success if s is not None]
        known_r = [r for r in self._returns if r is not None]
        frames = self.kind == "frames"
        return Manifest(
            task=self.task,
            domain=self.domain,
            source=self.source,
            kind=self.kind,
            image_size=list(self._shape[:2]) if frames and self._shape else None,
            obs_dim=None if frames or not self._shape else int(self._shape[0]),
            fps=float(self.fps),
            num_episodes=self.num_episodes,
            num_frames=int(sum(self._lengths)),
            episode_lengths=list(self._lengths),
            episode_success=list(self._success),
            episode_returns=list(self._returns),
            episode_names=list(self._names),
            success_rate=float(np.mean(known_s)) if known_s else None,
            mean_return=float(np.mean(known_r)) if known_r else None,
            provenance=dict(self.provenance),
            has_groundtruth=self._gt_fields is not None,
            groundtruth_fields=None if self._gt_fields is None else list(self._gt_fields),
        )

    def finish(self) -> Path:
        """Write manifest.json and rename the temporary folder to ``out`` (one atomic rename)."""
        if self._finished:
            return self.out
        if self._tmp is None:
            raise DatasetError("DatasetWriter was aborted; nothing to finish")
        if self.num_episodes == 0:
            self.abort()
            raise DatasetError(f"{self.out}: no episodes were added; nothing was written")
        if not is_number(self.fps) or self.fps <= 0:
            self.abort()
            raise DatasetError(f"dataset fps {self.fps!r} must be a positive number")
        try:
            (self._tmp / MANIFEST).write_text(self.manifest().to_json())
            publish_dir(self._tmp, self.out)
        except FileExistsError:
            self.abort()
            raise DatasetError(
                f"{self.out} appeared while the dataset was written; choose a new --out"
            ) from None
        except OSError as e:
            self.abort()
            raise DatasetError(f"cannot finish {self.out}: {e.strerror or e}") from None
        except BaseException:
            self.abort()
            raise
        self._tmp = None
        self._finished = True
        return self.out

    def abort(self) -> None:
        """Remove the temporary folder; ``out`` is never created. Safe to call twice."""
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
            self._remove_made_parents()

    def _remove_made_parents(self) -> None:
        for p in self._made_parents:  # deepest first
            try:
                p.rmdir()
            except OSError:
                break
        self._made_parents = []

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()
        elif not self._finished and self._tmp is not None:
            self.finish()
