"""The observation dataset format: its layout, its constants and its manifest.

Layout (format version 1)::

    DIR/manifest.json          task, domain, source, kind, sizes, lengths, provenance
    DIR/episodes/000000.npz    `frames` (T, H, W, 3) uint8 RGB, or `observations` (T, D) float32
    DIR/groundtruth/000000.npz optional: per-transition arrays (actions, rewards) of collected
                               episodes, kept apart so that no method reads them by accident

Every reader goes through ``videorl.data.dataset.VideoDataset`` and every writer through
``videorl.data.writer.DatasetWriter``; both describe the folder with a :class:`Manifest`,
which validates itself when made, so a manifest that exists is one that can be used.

An episode of T frames holds T - 1 transitions (f_i, f_{i+1}): nothing is duplicated and the
last frame is not dropped (REFERENCE.md defect 4).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

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


def is_number(x: Any) -> bool:
    """True for a finite int or float (not a bool)."""
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def is_int(x: Any) -> bool:
    """True for an int that is not a bool."""
    return isinstance(x, int) and not isinstance(x, bool)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Manifest:
    """The contents of ``manifest.json``, checked on construction: a Manifest that exists is
    valid, and a bad one raises a :class:`DatasetError` naming the field.

    The fields are declared in the order their keys are written, and hold exactly what the
    JSON holds (lists, a dict), so :meth:`to_json` of a writer's manifest is byte-for-byte
    stable. The fields cannot be reassigned; treat the lists and the dict as read-only too.
    The fields after ``has_groundtruth`` that default to None are optional on reading.
    """

    format_version: int = FORMAT_VERSION
    task: str
    domain: str
    source: str
    kind: str
    image_size: list[int] | None  # [height, width] for frames, else None
    obs_dim: int | None  # D for observations, else None
    fps: float
    num_episodes: int
    num_frames: int | None = None
    episode_lengths: list[int]
    episode_success: list[bool | None] | None = None
    episode_returns: list[float | None] | None = None
    episode_names: list[str | None] | None = None
    success_rate: float | None
    mean_return: float | None
    provenance: dict[str, Any]
    has_groundtruth: bool
    groundtruth_fields: list[str] | None = None

    def __post_init__(self) -> None:
        """Check the fields' types and values; errors name the field (see :meth:`from_dict`
        for the file)."""
        v = self.format_version
        if v != FORMAT_VERSION:
            raise DatasetError(
                f"field 'format_version' is {v!r} but this videorl reads version "
                f"{FORMAT_VERSION}; use the videorl version that wrote it or re-create the dataset"
            )

        def bad(field: str, expected: str) -> DatasetError:
            return DatasetError(f"field '{field}' is {getattr(self, field)!r}, expected {expected}")

        for key in ("task", "domain"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value:
                raise bad(key, "a non-empty string")
        if self.source not in SOURCES:
            raise bad("source", " or ".join(SOURCES))
        if self.kind not in KINDS:
            raise bad("kind", " or ".join(KINDS))
        if not is_number(self.fps) or self.fps <= 0:
            raise bad("fps", "a positive number")
        n = self.num_episodes
        if not is_int(n) or n < 1:
            raise bad("num_episodes", "a positive integer")
        lengths = self.episode_lengths
        if (
            not isinstance(lengths, list)
            or len(lengths) != n
            or not all(is_int(t) and t >= 2 for t in lengths)
        ):
            raise DatasetError(
                f"field 'episode_lengths' must list {n} integers >= 2 (num_episodes), "
                f"got {str(lengths)[:60]}"
            )
        if self.kind == "frames":
            size = self.image_size
            if not (
                isinstance(size, list) and len(size) == 2 and all(is_int(s) and s > 0 for s in size)
            ):
                raise bad("image_size", "[height, width] for a frames dataset")
        else:
            if not is_int(self.obs_dim) or self.obs_dim < 1:
                raise bad("obs_dim", "a positive integer for an observations dataset")
        sr = self.success_rate
        if sr is not None and not (is_number(sr) and 0 <= sr <= 1):
            raise bad("success_rate", "null or a number in [0, 1]")
        if self.mean_return is not None and not is_number(self.mean_return):
            raise bad("mean_return", "null or a number")
        if not isinstance(self.provenance, dict):
            raise bad("provenance", "an object (command, seed, videorl_version, created)")
        if not isinstance(self.has_groundtruth, bool):
            raise bad("has_groundtruth", "true or false")

    # -- JSON --------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, m: Any, where: str = MANIFEST) -> Manifest:
        """A Manifest from parsed JSON; every error starts with ``where`` (the file) and names
        the field. Keys this videorl does not know are ignored."""
        if not isinstance(m, dict):
            raise DatasetError(f"{where}: expected a JSON object, got {type(m).__name__}")
        for key in REQUIRED_KEYS:
            if key not in m:
                raise DatasetError(
                    f"{where}: field '{key}' is missing; re-create the dataset with this videorl"
                )
        known = {f.name for f in dataclasses.fields(cls)}
        try:
            return cls(**{k: v for k, v in m.items() if k in known})
        except DatasetError as e:
            raise DatasetError(f"{where}: {e}") from None

    @classmethod
    def from_json(cls, text: str, where: str = MANIFEST) -> Manifest:
        """Parse and validate manifest text; errors start with ``where`` (the file)."""
        try:
            m = json.loads(text)
        except json.JSONDecodeError as e:
            raise DatasetError(
                f"{where}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno}); "
                "fix or re-create the manifest"
            ) from None
        return cls.from_dict(m, where)

    @classmethod
    def load(cls, folder: Path) -> Manifest:
        """Read and validate ``folder/manifest.json``; errors name the file and the field."""
        file = folder / MANIFEST
        rel = f"{folder}/{MANIFEST}"
        if not file.is_file():
            raise DatasetError(
                f"{rel}: missing, so {folder} is not a videorl dataset; create one with "
                "videorl collect or videorl import-videos"
            )
        try:
            text = file.read_text()
        except (OSError, UnicodeDecodeError) as e:
            raise DatasetError(f"{rel}: cannot be read ({e})") from None
        return cls.from_json(text, rel)

    def to_dict(self) -> dict[str, Any]:
        """The manifest as a JSON object, keys in the written order (shallow copies)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.copy() if isinstance(value, list | dict) else value
        return out

    def to_json(self) -> str:
        """The text of ``manifest.json``: indented JSON ending in a newline, no NaN."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"
