"""Checkpoint files: written atomically, read without executing code.

``save`` goes through ``videorl.atomic`` (temporary file in the same folder, fsync, rename),
so a process killed mid-write (SIGKILL included) leaves the previous checkpoint intact.
``load`` uses ``torch.load(weights_only=True)``: only tensors and plain containers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from videorl.atomic import atomic_path


def save(obj: dict[str, Any], path: str | Path) -> None:
    with atomic_path(path, fsync=True) as tmp:
        torch.save(obj, tmp)


def load(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    return torch.load(Path(path), map_location=map_location, weights_only=True)
