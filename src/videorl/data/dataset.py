"""The observation dataset format: a folder of action-free episodes plus a manifest.

Layout (format version 1)::

    DIR/manifest.json          task, domain, source, kind, sizes, lengths, provenance
    DIR/episodes/000000.npz    `frames` (T, H, W, 3) uint8 RGB, or `observations` (T, D) float32
    DIR/groundtruth/000000.npz optional: per-transition arrays (actions, rewards) of collected
                               episodes, kept apart so that no method reads them by accident

Every reader goes through :class:`VideoDataset`, which validates the whole folder on load
(``allow_pickle=False``: an .npz never runs code) and names the file and the field of the
first thing that is wrong. Every writer goes through :class:`DatasetWriter`, which builds the
dataset in a hidden temporary folder next to the target and renames it into place only when
complete, so a crash or a bad input never leaves a half-written dataset that looks valid.

An episode of T frames holds T - 1 transitions (f_i, f_{i+1}): nothing is duplicated and the
last frame is not dropped (REFERENCE.md defect 4).
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from videorl.errors import UserError

FORMAT_VERSION: int = 1
SOURCES = ("collected", "imported")
KINDS = ("frames", "observations")
MANIFEST = "manifest.json"
EPISODES = "episodes"
GROUNDTRUTH = "groundtruth"

# Manifest keys every reader relies on; a missing one is an error naming it.
REQUIRED_KEYS = (
    "format_version",
    "task",
    "domain",
    "source",
    "kind",
    "image_size",
    "obs_dim",
    "fps",
    "num_episodes",
    "episode_lengths",
    "success_rate",
    "mean_return",
    "provenance",
    "has_groundtruth",
)


class DatasetError(UserError):
    """A dataset (or an input to one) that cannot be used. The message is one line naming
    the file and the field and saying how to fix it; the CLI prints it and exits 2."""


def episode_name(i: int) -> str:
    """File name of episode ``i``: zero-padded so that names sort in episode order."""
    return f"{i:06d}.npz"


def videorl_version() -> str:
    """The installed videorl version, recorded in provenance so a dataset says what made it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("videorl")
    except PackageNotFoundError:
        return "unknown"


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


# -- writing ---------------------------------------------------------------------------
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
        if not _is_number(fps) or fps <= 0:
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
            self._tmp = Path(
                tempfile.mkdtemp(prefix=f".{self.out.name}.", suffix=".tmp", dir=parent)
            )
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

    def manifest(self) -> dict:
        """The manifest as it will be written (also useful to inspect before finishing)."""
        known_s = [s for s in self._success if s is not None]
        known_r = [r for r in self._returns if r is not None]
        frames = self.kind == "frames"
        return {
            "format_version": FORMAT_VERSION,
            "task": self.task,
            "domain": self.domain,
            "source": self.source,
            "kind": self.kind,
            "image_size": list(self._shape[:2]) if frames and self._shape else None,
            "obs_dim": None if frames or not self._shape else int(self._shape[0]),
            "fps": float(self.fps),
            "num_episodes": self.num_episodes,
            "num_frames": int(sum(self._lengths)),
            "episode_lengths": list(self._lengths),
            "episode_success": list(self._success),
            "episode_returns": list(self._returns),
            "episode_names": list(self._names),
            "success_rate": float(np.mean(known_s)) if known_s else None,
            "mean_return": float(np.mean(known_r)) if known_r else None,
            "provenance": dict(self.provenance),
            "has_groundtruth": self._gt_fields is not None,
            "groundtruth_fields": self._gt_fields,
        }

    def finish(self) -> Path:
        """Write manifest.json and rename the temporary folder to ``out`` (one atomic rename)."""
        if self._finished:
            return self.out
        if self._tmp is None:
            raise DatasetError("DatasetWriter was aborted; nothing to finish")
        if self.num_episodes == 0:
            self.abort()
            raise DatasetError(f"{self.out}: no episodes were added; nothing was written")
        if not _is_number(self.fps) or self.fps <= 0:
            self.abort()
            raise DatasetError(f"dataset fps {self.fps!r} must be a positive number")
        try:
            text = json.dumps(self.manifest(), indent=2, allow_nan=False)
            (self._tmp / MANIFEST).write_text(text + "\n")
            if self.out.exists():  # rename() would silently replace an empty folder
                raise DatasetError(
                    f"{self.out} appeared while the dataset was written; choose a new --out"
                )
            os.rename(self._tmp, self.out)
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


# -- reading ---------------------------------------------------------------------------
def _open_npz(file: Path, rel: str) -> np.lib.npyio.NpzFile:
    """Open an .npz without pickle; anything else (garbage, a bare .npy, a pickle) is an
    error naming the file."""
    try:
        npz = np.load(file, allow_pickle=False)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DatasetError(f"{rel}: not a readable .npz file ({reason}); re-create it") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise DatasetError(f"{rel}: not an .npz archive of named arrays; re-create it")
    return npz


def _read_field(npz: np.lib.npyio.NpzFile, rel: str, field: str) -> np.ndarray:
    try:
        return npz[field]
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise DatasetError(
                f"{rel}: field '{field}' is a pickled object array, which videorl never "
                "loads; store plain numeric arrays"
            ) from None
        raise DatasetError(f"{rel}: field '{field}' cannot be read ({e})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise DatasetError(f"{rel}: field '{field}' cannot be read ({e}); re-create it") from None


def _load_npz(file: Path, rel: str, field: str) -> np.ndarray:
    """Read one array from an .npz without pickle, turning every failure into a DatasetError
    that names the file and the field."""
    with _open_npz(file, rel) as npz:
        if field not in npz.files:
            have = ", ".join(npz.files) or "nothing"
            raise DatasetError(
                f"{rel}: field '{field}' is missing (the file holds {have}); "
                "re-create the dataset with videorl collect or import-videos"
            )
        return _read_field(npz, rel, field)


def _load_npz_all(file: Path, rel: str) -> dict[str, np.ndarray]:
    with _open_npz(file, rel) as npz:
        return {k: _read_field(npz, rel, k) for k in npz.files}


def _validate_manifest(m: Any, rel: str) -> None:
    """Check the manifest's keys and types; errors name the field."""
    if not isinstance(m, dict):
        raise DatasetError(f"{rel}: expected a JSON object, got {type(m).__name__}")
    for key in REQUIRED_KEYS:
        if key not in m:
            raise DatasetError(
                f"{rel}: field '{key}' is missing; re-create the dataset with this videorl"
            )
    v = m["format_version"]
    if v != FORMAT_VERSION:
        raise DatasetError(
            f"{rel}: field 'format_version' is {v!r} but this videorl reads version "
            f"{FORMAT_VERSION}; use the videorl version that wrote it or re-create the dataset"
        )

    def bad(field: str, expected: str) -> DatasetError:
        return DatasetError(f"{rel}: field '{field}' is {m[field]!r}, expected {expected}")

    for key in ("task", "domain"):
        if not isinstance(m[key], str) or not m[key]:
            raise bad(key, "a non-empty string")
    if m["source"] not in SOURCES:
        raise bad("source", " or ".join(SOURCES))
    if m["kind"] not in KINDS:
        raise bad("kind", " or ".join(KINDS))
    if not _is_number(m["fps"]) or m["fps"] <= 0:
        raise bad("fps", "a positive number")
    n = m["num_episodes"]
    if not _is_int(n) or n < 1:
        raise bad("num_episodes", "a positive integer")
    lengths = m["episode_lengths"]
    if (
        not isinstance(lengths, list)
        or len(lengths) != n
        or not all(_is_int(t) and t >= 2 for t in lengths)
    ):
        raise DatasetError(
            f"{rel}: field 'episode_lengths' must list {n} integers >= 2 (num_episodes), "
            f"got {str(lengths)[:60]}"
        )
    if m["kind"] == "frames":
        size = m["image_size"]
        if not (
            isinstance(size, list) and len(size) == 2 and all(_is_int(s) and s > 0 for s in size)
        ):
            raise bad("image_size", "[height, width] for a frames dataset")
    else:
        if not _is_int(m["obs_dim"]) or m["obs_dim"] < 1:
            raise bad("obs_dim", "a positive integer for an observations dataset")
    sr = m["success_rate"]
    if sr is not None and not (_is_number(sr) and 0 <= sr <= 1):
        raise bad("success_rate", "null or a number in [0, 1]")
    if m["mean_return"] is not None and not _is_number(m["mean_return"]):
        raise bad("mean_return", "null or a number")
    if not isinstance(m["provenance"], dict):
        raise bad("provenance", "an object (command, seed, videorl_version, created)")
    if not isinstance(m["has_groundtruth"], bool):
        raise bad("has_groundtruth", "true or false")


class VideoDataset:
    """An observation dataset, fully validated on load and held in memory.

    All episodes are stored back to back in one array so that sampling is one fancy-index
    per batch; ``dataset[i]`` is a read-only view of episode i.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise DatasetError(
                f"{self.path}: dataset folder not found; create one with videorl collect "
                "or videorl import-videos"
            )
        self.manifest: dict = self._read_manifest()
        self.kind: str = self.manifest["kind"]
        self._field = "frames" if self.kind == "frames" else "observations"
        lengths = self.manifest["episode_lengths"]
        self._check_episode_files(len(lengths))

        if self.kind == "frames":
            h, w = self.manifest["image_size"]
            step_shape: tuple[int, ...] = (h, w, 3)
            dtype = np.dtype(np.uint8)
        else:
            step_shape = (self.manifest["obs_dim"],)
            dtype = np.dtype(np.float32)
        self._data = np.empty((sum(lengths), *step_shape), dtype=dtype)
        starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        for i, t in enumerate(lengths):
            arr = self._load_episode(i, t, step_shape, dtype)
            self._data[starts[i] : starts[i + 1]] = arr
        self._data.flags.writeable = False
        self._starts = starts
        self._lengths = [int(t) for t in lengths]

        # Flat index of every transition's first frame, and whether it ends its episode.
        frame_idx = np.arange(len(self._data), dtype=np.int64)
        last_frame = np.zeros(len(self._data), dtype=bool)
        last_frame[starts[1:] - 1] = True
        self._trans_idx = frame_idx[~last_frame]
        self._trans_last = np.zeros(len(self._trans_idx), dtype=bool)
        self._trans_last[np.cumsum([t - 1 for t in lengths]) - 1] = True
        self._window_cache: dict[int, np.ndarray] = {}

        if self.manifest["has_groundtruth"]:
            for i in range(len(lengths)):
                if not (self.path / GROUNDTRUTH / episode_name(i)).is_file():
                    raise DatasetError(
                        f"{GROUNDTRUTH}/{episode_name(i)}: missing but the manifest says "
                        "has_groundtruth; restore it or set has_groundtruth to false"
                    )

    def _read_manifest(self) -> dict:
        file = self.path / MANIFEST
        rel = f"{self.path}/{MANIFEST}"
        if not file.is_file():
            raise DatasetError(
                f"{rel}: missing, so {self.path} is not a videorl dataset; create one with "
                "videorl collect or videorl import-videos"
            )
        try:
            m = json.loads(file.read_text())
        except json.JSONDecodeError as e:
            raise DatasetError(
                f"{rel}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno}); "
                "fix or re-create the manifest"
            ) from None
        except (OSError, UnicodeDecodeError) as e:
            raise DatasetError(f"{rel}: cannot be read ({e})") from None
        _validate_manifest(m, rel)
        return m

    def _check_episode_files(self, n: int) -> None:
        folder = self.path / EPISODES
        if not folder.is_dir():
            raise DatasetError(
                f"{self.path}/{EPISODES}: folder missing; the manifest lists {n} episodes"
            )
        present = sorted(p.name for p in folder.iterdir() if p.suffix == ".npz")
        expected = [episode_name(i) for i in range(n)]
        missing = sorted(set(expected) - set(present))
        if missing:
            raise DatasetError(
                f"{self.path}/{EPISODES}/{missing[0]}: missing; the manifest field "
                f"'num_episodes' says {n} (restore the file or re-create the dataset)"
            )
        extra = sorted(set(present) - set(expected))
        if extra:
            raise DatasetError(
                f"{self.path}/{EPISODES}/{extra[0]}: not listed in the manifest "
                f"(field 'num_episodes' is {n}); remove it or re-create the dataset"
            )

    def _load_episode(
        self, i: int, t: int, step_shape: tuple[int, ...], dtype: np.dtype
    ) -> np.ndarray:
        rel = f"{self.path}/{EPISODES}/{episode_name(i)}"
        f = self._field
        arr = _load_npz(self.path / EPISODES / episode_name(i), rel, f)
        if arr.dtype != dtype:
            raise DatasetError(f"{rel}: field '{f}' has dtype {arr.dtype}, expected {dtype}")
        ndim = len(step_shape) + 1
        if arr.ndim != ndim:
            want = "(T, H, W, 3)" if self.kind == "frames" else "(T, D)"
            raise DatasetError(
                f"{rel}: field '{f}' has {arr.ndim} dimensions {arr.shape}, expected {want}"
            )
        if self.kind == "frames" and arr.shape[-1] != 3:
            raise DatasetError(
                f"{rel}: field '{f}' has {arr.shape[-1]} channels, expected 3 (RGB); "
                "convert the frames to RGB"
            )
        if arr.shape[0] < 2:
            raise DatasetError(
                f"{rel}: field '{f}' has {arr.shape[0]} frame(s); an episode needs at least 2"
            )
        if arr.shape[1:] != step_shape:
            if self.kind == "frames":
                got, want = "x".join(map(str, arr.shape[1:3])), "x".join(map(str, step_shape[:2]))
                raise DatasetError(
                    f"{rel}: field '{f}' has image size {got} but the dataset's image_size is "
                    f"{want}; all episodes must have one image size (re-import with one --size)"
                )
            raise DatasetError(
                f"{rel}: field '{f}' has dimension {arr.shape[1]} but the manifest's "
                f"obs_dim is {step_shape[0]}"
            )
        if arr.shape[0] != t:
            raise DatasetError(
                f"{rel}: field '{f}' has {arr.shape[0]} frames but the manifest field "
                f"'episode_lengths' says {t}; re-create the dataset"
            )
        if self.kind == "observations" and not np.isfinite(arr).all():
            raise DatasetError(f"{rel}: field '{f}' contains NaN or inf")
        return arr

    # -- access ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._lengths)

    def __getitem__(self, i: int) -> np.ndarray:
        n = len(self._lengths)
        if not -n <= i < n:
            raise IndexError(f"episode {i} out of range for a dataset of {n} episodes")
        i %= n
        return self._data[self._starts[i] : self._starts[i + 1]]

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        return (
            f"VideoDataset({str(self.path)!r}, episodes={len(self)}, "
            f"frames={len(self._data)}, kind={self.kind!r})"
        )

    @property
    def lengths(self) -> list[int]:
        """Frames per episode."""
        return list(self._lengths)

    @property
    def num_frames(self) -> int:
        return len(self._data)

    @property
    def num_transitions(self) -> int:
        """Sum of (T - 1): every consecutive pair (f_i, f_{i+1}) inside an episode."""
        return len(self._trans_idx)

    @property
    def obs_shape(self) -> tuple[int, ...]:
        """Shape of one observation: (H, W, 3) for frames, (D,) for observations."""
        return tuple(self._data.shape[1:])

    @property
    def has_groundtruth(self) -> bool:
        return bool(self.manifest["has_groundtruth"])

    @property
    def frames(self) -> np.ndarray:
        """Every episode's frames (or state observations) back to back, read-only."""
        return self._data

    def transition_table(self) -> tuple[np.ndarray, np.ndarray]:
        """(flat index of each transition's first frame, True where it ends its episode),
        in episode order; transition k is (frames[i_k], frames[i_k + 1])."""
        return self._trans_idx, self._trans_last

    # -- sampling ----------------------------------------------------------------------
    def sample_transitions(
        self, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n`` transitions drawn uniformly (with replacement) over all (f_i, f_{i+1}) pairs.

        Returns (s, s_next, is_last); ``is_last`` is True for an episode's final transition,
        which is where RLV places the terminal reward (Eq. 2).
        """
        if not _is_int(n) or n < 1:
            raise ValueError(f"sample_transitions: n must be a positive integer, got {n!r}")
        j = rng.integers(0, len(self._trans_idx), size=n)
        idx = self._trans_idx[j]
        return self._data[idx], self._data[idx + 1], self._trans_last[j]

    def _window_starts(self, length: int) -> np.ndarray:
        if length not in self._window_cache:
            parts = [
                np.arange(s, s + t - length + 1, dtype=np.int64)
                for s, t in zip(self._starts[:-1], self._lengths)
                if t >= length
            ]
            self._window_cache[length] = (
                np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
            )
        return self._window_cache[length]

    def sample_subsequences(self, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` windows of ``length`` consecutive frames, each inside one episode, drawn
        uniformly (with replacement) over all such windows. Shape (n, length, *obs_shape)."""
        if not _is_int(n) or n < 1:
            raise ValueError(f"sample_subsequences: n must be a positive integer, got {n!r}")
        if not _is_int(length) or length < 1:
            raise ValueError(f"sample_subsequences: length must be >= 1, got {length!r}")
        starts = self._window_starts(length)
        if len(starts) == 0:
            raise DatasetError(
                f"{self.path}: no episode has {length} frames (the longest has "
                f"{max(self._lengths)}); use a shorter sub-sequence length"
            )
        s = starts[rng.integers(0, len(starts), size=n)]
        return self._data[s[:, None] + np.arange(length)]

    def groundtruth(self, i: int) -> dict[str, np.ndarray] | None:
        """Ground-truth per-transition arrays of episode ``i`` (e.g. actions, rewards), or None
        when the dataset has none. Read only here, on request: methods must not use them
        unless an ablation flag asks (RLV Fig. 8)."""
        if not self.has_groundtruth:
            return None
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"episode {i} out of range for a dataset of {n} episodes")
        i %= n
        rel = f"{self.path}/{GROUNDTRUTH}/{episode_name(i)}"
        arrays = _load_npz_all(self.path / GROUNDTRUTH / episode_name(i), rel)
        t = self._lengths[i]
        for k, v in arrays.items():
            if v.ndim == 0 or v.shape[0] != t - 1:
                raise DatasetError(
                    f"{rel}: field '{k}' has shape {v.shape}, expected {t - 1} rows "
                    "(one per transition)"
                )
        return arrays


# -- summary ---------------------------------------------------------------------------
def summarize(path: str | Path) -> str:
    """Validate the dataset at ``path`` and return the ``videorl data info`` text."""
    ds = VideoDataset(path)
    m = ds.manifest
    lengths = ds.lengths
    rows: list[tuple[str, str]] = [
        ("dataset", str(ds.path)),
        ("task", m["task"]),
        ("domain", m["domain"]),
        ("source", m["source"]),
        ("episodes", str(len(ds))),
        ("frames", str(ds.num_frames)),
        ("transitions", str(ds.num_transitions)),
        (
            "lengths",
            f"min {min(lengths)}, mean {np.mean(lengths):.1f}, max {max(lengths)}",
        ),
    ]
    if ds.kind == "frames":
        h, w = m["image_size"]
        rows.append(("image size", f"{h}x{w} RGB uint8"))
    else:
        rows.append(("obs dim", f"{m['obs_dim']} float32"))
    rows.append(("fps", f"{m['fps']:g}"))
    succ = [s for s in m.get("episode_success") or [] if s is not None]
    if m["success_rate"] is None:
        rows.append(("success rate", "unknown"))
    elif succ:
        rows.append(
            ("success rate", f"{m['success_rate']:.3f} ({sum(succ)} of {len(succ)} episodes)")
        )
    else:
        rows.append(("success rate", f"{m['success_rate']:.3f}"))
    mr = m["mean_return"]
    rows.append(("mean return", "unknown" if mr is None else f"{mr:.3f}"))
    if m["has_groundtruth"]:
        fields = ", ".join(m.get("groundtruth_fields") or []) or "present"
        rows.append(("groundtruth", f"{fields} (read only by the ground-truth ablations)"))
    else:
        rows.append(("groundtruth", "none"))
    prov = m["provenance"]
    rows.append(("command", str(prov.get("command") or "unknown")))
    if prov.get("seed") is not None:
        rows.append(("seed", str(prov["seed"])))
    if prov.get("created"):
        rows.append(("created", str(prov["created"])))
    rows.append(("videorl", str(prov.get("videorl_version", "unknown"))))
    width = max(len(k) for k, _ in rows) + 2
    return "\n".join(f"{k:<{width}}{v}" for k, v in rows)
