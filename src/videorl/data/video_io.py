"""Reading and writing real videos and frame folders, always as RGB uint8.

Every frame leaves this module in RGB order (REFERENCE.md defect 5: the original code read
human videos as BGR while the robot's renders were RGB, so the two domains differed by a
channel swap). PyAV decodes straight to ``rgb24`` and Pillow converts images with
``convert("RGB")``; nothing here goes through OpenCV's BGR convention.

PyAV and Pillow are imported inside the functions so that ``import videorl.data`` stays light.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from videorl.data.manifest import DatasetError

VIDEO_SUFFIXES = (".mp4", ".webm", ".avi", ".mov", ".mkv", ".m4v")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


class VideoError(DatasetError):
    """One input video or frame folder cannot be read (corrupt, empty, unsupported).

    The importer skips such an input by name; any other DatasetError stops the import."""


def _fps_of(stream) -> float | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and float(rate) > 0:
            return float(rate)
    return None


def iter_video(path: str | Path) -> tuple[Iterator[np.ndarray], float | None]:
    """Open a video and return (an iterator of (H, W, 3) uint8 RGB frames, its fps or None).

    Lets the importer shrink each frame as it is decoded instead of holding a long
    full-resolution video in memory. Decoding errors surface as VideoError while iterating.
    """
    import av

    path = Path(path)
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as e:
        raise VideoError(f"{path}: cannot open as a video ({_reason(e)})") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: holds no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    fps = _fps_of(stream)

    def frames() -> Iterator[np.ndarray]:
        try:
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as e:
            raise VideoError(f"{path}: corrupt video data ({_reason(e)})") from None
        finally:
            container.close()

    return frames(), fps


def _reason(e: BaseException) -> str:
    """One short line from an FFmpeg/OS error (their str() repeats the path)."""
    msg = getattr(e, "strerror", None) or str(e)
    return msg.splitlines()[0] if msg else type(e).__name__


def read_video(path: str | Path) -> tuple[np.ndarray, float]:
    """Decode every frame of a video (mp4, webm, avi, mov, ... via PyAV) as RGB.

    Returns (frames (N, H, W, 3) uint8, fps). N may be 0 or 1; callers decide whether that is
    enough. fps falls back to 30 when the container does not state a rate.
    """
    it, fps = iter_video(path)
    frames = list(it)
    if not frames:
        return np.zeros((0, 0, 0, 3), dtype=np.uint8), fps or 30.0
    if len({f.shape for f in frames}) > 1:
        raise VideoError(f"{path}: frame size changes mid-video; re-encode it at one size")
    return np.stack(frames), fps or 30.0


def natural_key(name: str) -> tuple:
    """'frame10.png' sorts after 'frame9.png': digit runs compare as numbers."""
    return tuple(int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", name))


def list_frame_files(path: str | Path) -> list[Path]:
    """The png/jpg files of a folder in natural numeric order."""
    files = [p for p in Path(path).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    return sorted(files, key=lambda p: natural_key(p.name))


def iter_frame_folder(path: str | Path) -> Iterator[np.ndarray]:
    """Yield the folder's frames as (H, W, 3) uint8 RGB in natural numeric order."""
    from PIL import Image, UnidentifiedImageError

    size = None
    for file in list_frame_files(path):
        try:
            with Image.open(file) as im:
                frame = np.asarray(im.convert("RGB"), dtype=np.uint8)
        except (OSError, UnidentifiedImageError, ValueError) as e:
            raise VideoError(f"{file}: not a readable image ({_reason(e)})") from None
        if size is not None and frame.shape != size:
            raise VideoError(
                f"{file}: size {frame.shape[1]}x{frame.shape[0]} differs from the earlier "
                f"frames' {size[1]}x{size[0]}; give every frame one size"
            )
        size = frame.shape
        yield frame


def read_frame_folder(path: str | Path) -> tuple[np.ndarray, float | None]:
    """Read a folder of numbered png/jpg frames as (N, H, W, 3) uint8 RGB.

    The frame rate of a folder of images is unknown, so the second value is None.
    """
    frames = list(iter_frame_folder(path))
    if not frames:
        return np.zeros((0, 0, 0, 3), dtype=np.uint8), None
    return np.stack(frames), None


def check_crop(crop: tuple[int, int, int, int] | None, width: int, height: int, what: str) -> None:
    """Raise DatasetError if ``crop`` (X, Y, W, H) is not a non-empty box inside the frame."""
    if crop is None:
        return
    if len(crop) != 4 or not all(isinstance(c, int | np.integer) for c in crop):
        raise DatasetError(f"--crop {crop!r} must be four integers X,Y,W,H")
    x, y, w, h = crop
    if w <= 0 or h <= 0 or x < 0 or y < 0:
        raise DatasetError(
            f"--crop {x},{y},{w},{h}: the form is X,Y,W,H with X, Y >= 0 (the top-left corner) "
            "and W, H > 0 (width, height); give a box inside the frame"
        )
    if x + w > width or y + h > height:
        raise DatasetError(
            f"--crop {x},{y},{w},{h} lies outside {what} ({width}x{height}); "
            "give a box inside the frame"
        )


def crop_resize(
    frames: np.ndarray, crop: tuple[int, int, int, int] | None, size: int
) -> np.ndarray:
    """Crop X,Y,W,H (pixels from the top-left) and resize to size x size with area
    interpolation (Pillow's BOX filter: each output pixel averages the input pixels it
    covers, so downscaling does not alias). Works on one frame (H, W, 3) or a stack
    (N, H, W, 3). A non-square crop is stretched to a square."""
    from PIL import Image

    single = frames.ndim == 3
    stack = frames[None] if single else frames
    if stack.ndim != 4 or stack.shape[-1] != 3 or stack.dtype != np.uint8:
        raise ValueError(f"crop_resize: expected uint8 (N, H, W, 3) frames, got {frames.shape}")
    if not isinstance(size, int | np.integer) or size < 1:
        raise DatasetError(f"--size {size!r} must be a positive integer")
    height, width = stack.shape[1:3]
    check_crop(crop, width, height, "the frame")
    if crop is not None:
        x, y, w, h = crop
        stack = stack[:, y : y + h, x : x + w]
    if stack.shape[1:3] == (size, size):
        out = np.ascontiguousarray(stack)
    else:
        out = np.empty((len(stack), size, size, 3), dtype=np.uint8)
        for i, frame in enumerate(stack):
            out[i] = np.asarray(
                Image.fromarray(np.ascontiguousarray(frame)).resize((size, size), Image.BOX)
            )
    return out[0] if single else out


def subsample_indices(n: int, src_fps: float, fps: float | None) -> np.ndarray:
    """Indices of the frames nearest to the times 0, 1/fps, 2/fps, ... within a clip of ``n``
    frames at ``src_fps``. None, or a rate at or above the source's, keeps every frame (there
    is no upsampling)."""
    if fps is None or n == 0 or fps >= src_fps:
        return np.arange(n)
    if fps <= 0 or src_fps <= 0:
        raise DatasetError(f"--fps {fps!r} and the source rate {src_fps!r} must be positive")
    duration = (n - 1) / src_fps
    k = np.arange(int(np.floor(duration * fps + 1e-9)) + 1)
    idx = np.rint(k * (src_fps / fps)).astype(np.int64)
    return np.unique(np.clip(idx, 0, n - 1))


def subsample(frames: np.ndarray, src_fps: float, fps: float | None) -> np.ndarray:
    """Keep the frames nearest to the target rate ``fps``; None keeps all of them."""
    return frames[subsample_indices(len(frames), src_fps, fps)]


def write_video(path: str | Path, frames: np.ndarray, fps: float) -> Path:
    """Write (N, H, W, 3) uint8 RGB frames as a video via PyAV.

    The container follows the suffix (.mp4 by default); the codec is H.264 when available,
    else MPEG-4 Part 2 (VP9/VP8 for .webm), at high quality so that tests reading the video
    back see nearly the written colours. H.264/yuv420p needs even width and height.
    """
    import av

    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"write_video: expected uint8 (N, H, W, 3) RGB, got {frames.shape}")
    if len(frames) == 0:
        raise ValueError("write_video: no frames to write")
    h, w = frames.shape[1:3]
    if h % 2 or w % 2:
        raise ValueError(f"write_video: width and height must be even, got {w}x{h}")
    if path.suffix.lower() == ".webm":
        choices = ("libvpx-vp9", "libvpx")
    else:
        choices = ("libx264", "h264", "mpeg4")
    codec = next((c for c in choices if c in av.codecs_available), choices[-1])
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        if codec in ("libx264", "h264"):
            stream.options = {"crf": "12", "preset": "fast"}
        else:
            stream.bit_rate = 8_000_000
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    return path
