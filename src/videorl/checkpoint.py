"""Checkpoint files: written atomically, read without executing code.

``save`` goes through ``videorl.atomic`` (temporary file in the same folder, fsync, rename),
so a process killed mid-write (SIGKILL included) leaves the previous checkpoint intact.
``load`` uses ``torch.load(weights_only=True)``: only tensors and plain containers. A file
it cannot read (cut short, damaged, or a pickle that carries code) is a ``UserError`` with
one line naming the file and the fix; ``unreadable`` words it for the other model loaders.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import torch

from videorl.atomic import atomic_path
from videorl.errors import UserError

RUN_FIX = "restore it from a copy, or train the run again into a new --out"


class CheckpointError(UserError):
    """A checkpoint or model file that cannot be read, or that holds code."""


def save(obj: dict[str, Any], path: str | Path) -> None:
    with atomic_path(path, fsync=True) as tmp:
        torch.save(obj, tmp)


def load(
    path: str | Path,
    map_location: str | torch.device = "cpu",
    what: str = "videorl checkpoint",
    fix: str = RUN_FIX,
    error: type[UserError] = CheckpointError,
) -> dict[str, Any]:
    """The tensors and containers in ``path``; ``error`` (one line: ``what`` it should be and
    ``fix``) if the file cannot be read or holds code, which is never run."""
    path = Path(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch.load's only input is the file: whatever it raises on
        raise error(unreadable(path, exc, what, fix)) from None  # those bytes is their fault


def unreadable(path: Path, exc: BaseException, what: str, fix: str) -> str:
    """One line for a model file that torch could not load: missing, holds code (torch
    refuses a pickled global under weights_only), or truncated/corrupt."""
    if isinstance(exc, FileNotFoundError | IsADirectoryError | PermissionError):
        return f"cannot read {path} ({exc.strerror}); {fix}"
    code = re.search(r"GLOBAL (\S+)", str(exc)) if isinstance(exc, pickle.UnpicklingError) else None
    if code:
        return f"{path} is not a safe {what}: it holds code ({code[1]}) and was not loaded; {fix}"
    return f"{path} is not a readable {what} (truncated or corrupt); {fix}"
