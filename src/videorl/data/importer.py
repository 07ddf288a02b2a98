"""``videorl import-videos``: turn real videos and frame folders into an observation dataset.

One input becomes one episode. Every frame the input yields (after the optional --fps
subsampling) is kept, so N frames make an episode of N frames and N - 1 transitions
(f_i, f_{i+1}); the original code paired f0 with itself and lost the last frame
(REFERENCE.md defect 4). Frames stay RGB from decoding to disk (defect 5).

An input that is corrupt, empty or too short is skipped by name and the rest are imported;
when nothing valid remains the import fails with one line and leaves nothing on disk.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

from videorl.data.manifest import DatasetError
from videorl.data.video_io import (
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    VideoError,
    check_crop,
    crop_resize,
    iter_frame_folder,
    iter_video,
    list_frame_files,
    natural_key,
    subsample,
)
from videorl.data.writer import DatasetWriter
from videorl.progress import progress as progress_bar

DEFAULT_TASK = "unknown"
DEFAULT_DOMAIN = "human"
# Recorded when no input states a frame rate (only frame folders) and --fps is not given.
FALLBACK_FPS = 30.0


def parse_crop(text: str) -> tuple[int, int, int, int]:
    """Parse the CLI's ``--crop X,Y,W,H`` into integers, with a one-line error."""
    parts = text.split(",")
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4:
        raise DatasetError(f"--crop {text!r} must be four integers X,Y,W,H (e.g. 0,0,480,480)")
    check_crop(values, 1 << 30, 1 << 30, "the frame")  # sign checks; bounds come per video
    return values  # type: ignore[return-value]


def expand_sources(sources: Sequence[str | Path]) -> list[Path]:
    """One entry per would-be episode. A folder of png/jpg frames is one input; a folder
    without frames but with videos stands for its videos (sorted naturally). A missing path
    stops the import: it is a typo, not a bad video."""
    inputs: list[Path] = []
    for s in sources:
        p = Path(s)
        if not p.exists():
            raise DatasetError(f"{s}: no such video or frame folder; check the path")
        if p.is_dir() and not list_frame_files(p):
            videos = sorted(
                (f for f in p.iterdir() if f.is_file() and f.suffix.lower() in VIDEO_SUFFIXES),
                key=lambda f: natural_key(f.name),
            )
            inputs.extend(videos or [p])  # an empty folder is reported and skipped later
        else:
            inputs.append(p)
    return inputs


def _read_input(
    src: Path, crop: tuple[int, int, int, int] | None, size: int
) -> tuple[np.ndarray, float | None]:
    """Decode one input, cropping and resizing each frame as it arrives (a long HD video is
    never held at full resolution). Returns (frames (N, size, size, 3) uint8, source fps)."""
    if src.is_dir():
        frames_in, src_fps = iter_frame_folder(src), None
        if not list_frame_files(src):
            raise VideoError(
                f"empty folder (no {'/'.join(s[1:] for s in IMAGE_SUFFIXES)} frames or videos)"
            )
    elif src.suffix.lower() in IMAGE_SUFFIXES:
        raise VideoError("a single image is one frame; pass the folder of numbered frames")
    else:
        frames_in, src_fps = iter_video(src)
    out = []
    for frame in frames_in:
        if not out:
            check_crop(crop, frame.shape[1], frame.shape[0], str(src))
        out.append(crop_resize(frame, crop, size))
    if not out:
        raise VideoError("empty: no frames")
    return np.stack(out), src_fps


def _short(error: VideoError, src: Path) -> str:
    """The reason without a repeated path prefix."""
    msg = str(error)
    prefix = f"{src}: "
    return msg[len(prefix) :] if msg.startswith(prefix) else msg


def _dataset_fps(rates: list[float], fps: float | None, say) -> float:
    """The rate to record: --fps when given; else the inputs' common rate."""
    if fps is not None:
        return float(fps)
    if not rates:
        say(
            f"note: frame folders carry no frame rate; recorded fps {FALLBACK_FPS:g} "
            "(pass --fps to state it)"
        )
        return FALLBACK_FPS
    lo, hi = min(rates), max(rates)
    if hi > lo * 1.01:
        mid = float(np.median(rates))
        say(
            f"note: the videos have different frame rates ({lo:g} to {hi:g} fps); recorded "
            f"{mid:g} (pass --fps to resample them all to one rate)"
        )
        return mid
    return float(rates[0])


def import_videos(
    sources: list[str],
    out: str | Path,
    *,
    size: int = 48,
    crop: tuple[int, int, int, int] | None = None,
    fps: float | None = None,
    task: str | None = None,
    domain: str | None = None,
    progress: bool = True,
    command: str = "",
) -> tuple[Path, list[str]]:
    """Import videos (mp4, webm, avi, mov via PyAV) and frame folders (png, jpg) into a new
    dataset at ``out``: RGB, cropped to ``crop`` (X, Y, W, H), resized to ``size`` x ``size``
    with area interpolation, subsampled to ``fps`` (None keeps every frame).

    Returns (dataset path, skipped-input messages "NAME: reason"); each skipped input is also
    printed to stderr as "skipped NAME: reason". Raises DatasetError when a source does not
    exist, the crop or size is invalid, ``out`` exists, or no input is valid; in every
    failure nothing is left on disk (the dataset is built in a temporary folder and renamed
    into place only when complete).

    A frame folder has no frame rate of its own: with ``fps`` its frames are taken to be at
    that rate (not resampled); without it the dataset records the videos' rate, or 30.
    """
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or not 2 <= size <= 512:
        raise DatasetError(f"--size must be a whole number of pixels, 2 to 512, got {size!r}")
    if fps is not None and not (isinstance(fps, int | float) and 0 < fps < float("inf")):
        raise DatasetError(f"--fps {fps!r} must be a positive number")
    if crop is not None:
        crop = tuple(crop)  # type: ignore[assignment]
        check_crop(crop, 1 << 30, 1 << 30, "the frame")
    if not sources:
        raise DatasetError("no input videos given; pass one or more videos or frame folders")
    inputs = expand_sources(sources)

    def say(msg: str) -> None:
        tqdm.write(msg, file=sys.stderr)

    skipped: list[str] = []
    rates: list[float] = []
    provenance = {
        "command": command,
        "seed": None,
        "sources": [str(s) for s in sources],
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with DatasetWriter(
        out,
        task=task or DEFAULT_TASK,
        domain=domain or DEFAULT_DOMAIN,
        source="imported",
        fps=float(fps) if fps is not None else FALLBACK_FPS,
        provenance=provenance,
    ) as writer:
        for src in progress_bar(inputs, desc="import", unit="video", disable=not progress):
            try:
                frames, src_fps = _read_input(src, crop, int(size))
                decoded = len(frames)
                if fps is not None and src_fps is not None and fps > 1.01 * src_fps:
                    raise DatasetError(
                        f"--fps {fps:g} is above the frame rate of {src} ({src_fps:g} fps), and "
                        f"frames are not made up; pass --fps {src_fps:g} or less, or leave it out"
                    )
                if src_fps is not None:
                    frames = subsample(frames, src_fps, fps)
                if len(frames) < 2:
                    after = f" at {fps:g} fps" if len(frames) < decoded else ""
                    raise VideoError(
                        f"has {len(frames)} frame(s){after}; an episode needs at least 2"
                    )
            except VideoError as e:
                msg = f"{src}: {_short(e, src)}"
                skipped.append(msg)
                say(f"skipped {msg}")
                continue
            if src_fps is not None:
                rates.append(src_fps)
            writer.add_episode(frames, name=str(src))

        if writer.num_episodes == 0:
            writer.abort()
            shown = "; ".join(skipped[:3]) + (
                f"; and {len(skipped) - 3} more" if len(skipped) > 3 else ""
            )
            raise DatasetError(
                f"no valid video among the {len(inputs)} inputs: {shown}; "
                "check the files (nothing was written)"
            )
        writer.fps = _dataset_fps(rates, fps, say)
        path = writer.finish()
    return path, skipped
