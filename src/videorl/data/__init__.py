"""Data: observation datasets, collection, video I/O and augmentation.

Only numpy and tqdm are imported here (PyAV and Pillow load on first use), so code that just
reads a dataset stays light; ``augment`` (torch) is imported from its own module.
"""

from videorl.data.dataset import VideoDataset, summarize
from videorl.data.importer import import_videos, parse_crop
from videorl.data.manifest import FORMAT_VERSION, DatasetError, Manifest
from videorl.data.video_io import (
    VideoError,
    crop_resize,
    read_frame_folder,
    read_video,
    subsample,
    write_video,
)
from videorl.data.writer import DatasetWriter

__all__ = [
    "FORMAT_VERSION",
    "DatasetError",
    "DatasetWriter",
    "Manifest",
    "VideoDataset",
    "VideoError",
    "crop_resize",
    "import_videos",
    "parse_crop",
    "read_frame_folder",
    "read_video",
    "subsample",
    "summarize",
    "write_video",
]
