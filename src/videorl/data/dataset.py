"""Reading an observation dataset (the layout is described in ``videorl.data.manifest``).

Every reader goes through :class:`VideoDataset`, which validates the whole folder on load
(``allow_pickle=False``: an .npz never runs code) and names the file and the field of the
first thing that is wrong; :func:`summarize` is the ``videorl data info`` text.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from videorl.data.manifest import (
    EPISODES,
    GROUNDTRUTH,
    DatasetError,
    Manifest,
    episode_name,
    is_int,
)
from videorl.episodes import EpisodeStore


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


class VideoDataset:
    """An observation dataset, fully validated on load and held in memory.

    All episodes are stored back to back in one array (an :class:`EpisodeStore`, which also
    holds the sampling rules) so that sampling is one fancy-index per batch; ``dataset[i]`` is
    a read-only view of episode i.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise DatasetError(
                f"{self.path}: dataset folder not found; create one with videorl collect "
                "or videorl import-videos"
            )
        self.manifest: Manifest = Manifest.load(self.path)
        self.kind: str = self.manifest.kind
        self._field = "frames" if self.kind == "frames" else "observations"
        lengths = self.manifest.episode_lengths
        self._check_episode_files(len(lengths))

        if self.kind == "frames":
            h, w = self.manifest.image_size
            step_shape: tuple[int, ...] = (h, w, 3)
            dtype = np.dtype(np.uint8)
        else:
            step_shape = (self.manifest.obs_dim,)
            dtype = np.dtype(np.float32)
        self._data = np.empty((sum(lengths), *step_shape), dtype=dtype)
        starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        for i, t in enumerate(lengths):
            arr = self._load_episode(i, t, step_shape, dtype)
            self._data[starts[i] : starts[i + 1]] = arr
        self._data.flags.writeable = False
        self._lengths = [int(t) for t in lengths]
        self._episodes = EpisodeStore(self._data, self._lengths)
        self._episodes.transition_table()  # built on load, as a dataset is read to sample

        if self.manifest.has_groundtruth:
            for i in range(len(lengths)):
                if not (self.path / GROUNDTRUTH / episode_name(i)).is_file():
                    raise DatasetError(
                        f"{GROUNDTRUTH}/{episode_name(i)}: missing but the manifest says "
                        "has_groundtruth; restore it or set has_groundtruth to false"
                    )

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
        return self._episodes.episode(i % n)

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
        return self._episodes.num_transitions

    @property
    def obs_shape(self) -> tuple[int, ...]:
        """Shape of one observation: (H, W, 3) for frames, (D,) for observations."""
        return tuple(self._data.shape[1:])

    @property
    def has_groundtruth(self) -> bool:
        return bool(self.manifest.has_groundtruth)

    @property
    def frames(self) -> np.ndarray:
        """Every episode's frames (or state observations) back to back, read-only."""
        return self._data

    @property
    def episodes(self) -> EpisodeStore:
        """The frames with their episode layout and samplers."""
        return self._episodes

    def transition_table(self) -> tuple[np.ndarray, np.ndarray]:
        """(flat index of each transition's first frame, True where it ends its episode),
        in episode order; transition k is (frames[i_k], frames[i_k + 1])."""
        return self._episodes.transition_table()

    # -- sampling ----------------------------------------------------------------------
    def sample_transitions(
        self, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n`` transitions drawn uniformly (with replacement) over all (f_i, f_{i+1}) pairs.

        Returns (s, s_next, is_last); ``is_last`` is True for an episode's final transition,
        which is where RLV places the terminal reward (Eq. 2).
        """
        if not is_int(n) or n < 1:
            raise ValueError(f"sample_transitions: n must be a positive integer, got {n!r}")
        _, idx, last = self._episodes.sample_transitions(n, rng)
        return self._data[idx], self._data[idx + 1], last

    def sample_subsequences(self, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` windows of ``length`` consecutive frames, each inside one episode, drawn
        uniformly (with replacement) over all such windows. Shape (n, length, *obs_shape)."""
        if not is_int(n) or n < 1:
            raise ValueError(f"sample_subsequences: n must be a positive integer, got {n!r}")
        if not is_int(length) or length < 1:
            raise ValueError(f"sample_subsequences: length must be >= 1, got {length!r}")
        if len(self._episodes.window_starts(length)) == 0:
            raise DatasetError(
                f"{self.path}: no episode has {length} frames (the longest has "
                f"{max(self._lengths)}); use a shorter sub-sequence length"
            )
        return self._data[self._episodes.sample_windows(n, length, rng)]

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
        ("task", m.task),
        ("domain", m.domain),
        ("source", m.source),
        ("episodes", str(len(ds))),
        ("frames", str(ds.num_frames)),
        ("transitions", str(ds.num_transitions)),
        (
            "lengths",
            f"min {min(lengths)}, mean {np.mean(lengths):.1f}, max {max(lengths)}",
        ),
    ]
    if ds.kind == "frames":
        h, w = m.image_size
        rows.append(("image size", f"{h}x{w} RGB uint8"))
    else:
        rows.append(("obs dim", f"{m.obs_dim} float32"))
    rows.append(("fps", f"{m.fps:g}"))
    succ = [s for s in m.episode_success or [] if s is not None]
    if m.success_rate is None:
        rows.append(("success rate", "unknown"))
    elif succ:
        rows.append(("success rate", f"{m.success_rate:.3f} ({sum(succ)} of {len(succ)} episodes)"))
    else:
        rows.append(("success rate", f"{m.success_rate:.3f}"))
    mr = m.mean_return
    rows.append(("mean return", "unknown" if mr is None else f"{mr:.3f}"))
    if m.has_groundtruth:
        fields = ", ".join(m.groundtruth_fields or []) or "present"
        rows.append(("groundtruth", f"{fields} (read only by the ground-truth ablations)"))
    else:
        rows.append(("groundtruth", "none"))
    prov = m.provenance
    rows.append(("command", str(prov.get("command") or "unknown")))
    if prov.get("seed") is not None:
        rows.append(("seed", str(prov["seed"])))
    if prov.get("created"):
        rows.append(("created", str(prov["created"])))
    rows.append(("videorl", str(prov.get("videorl_version", "unknown"))))
    width = max(len(k) for k, _ in rows) + 2
    return "\n".join(f"{k:<{width}}{v}" for k, v in rows)
