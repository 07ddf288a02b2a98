"""Atomic writes: the one place that writes a temporary file (or builds a temporary folder)
and renames it into place.

A reader (or a process killed mid-write, SIGKILL included) sees either the previous file or
the complete new one, never a partial file. The temporary file lives in the target's folder
(a rename is atomic only within one file system) and is removed if writing fails. Files get
the mode a plain ``open(path, "w")`` would give (0666 minus the user's umask), not the
private 0600 of ``tempfile.mkstemp``.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from videorl.errors import UserError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | Path, fsync: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` (same suffix, so writers that pick a format by
    extension work); once the block ends without error, rename it onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}",
                                dir=path.parent)  # fmt: skip
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        if fsync:
            with tmp.open("rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_writable(path: str | Path, flag: str) -> Path:
    """Refuse, before any work, an output ``path`` (given as ``flag``) that cannot be written:
    a temporary file is created in its folder and removed again. ``os.access`` is not enough:
    root passes it for every folder, and /proc or a read-only mount refuse writes anyway."""
    path = Path(path)
    parent = path.parent
    if path.is_dir():
        reason = "it is a folder"
    elif not parent.exists():
        reason = f"folder {parent} does not exist"
    elif not parent.is_dir():
        reason = f"{parent} is a file, not a folder"
    else:
        try:
            fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=parent)
        except OSError as exc:
            why = "" if exc.errno == errno.ENOENT else f" ({exc.strerror})"
            reason = f"folder {parent} is not writable{why}"
        else:
            os.close(fd)
            os.unlink(probe)
            return path
    raise UserError(f"cannot write {flag} {path}: {reason}; choose a path in a writable folder")


def make_folder(path: str | Path, what: str) -> Path:
    """``mkdir -p path``, or a UserError naming ``what`` the folder is (a flag) and why."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"cannot create {what} {path} ({exc.strerror}); choose a folder you can write to"
        ) from None
    return Path(path)


def staging_dir(target: str | Path) -> Path:
    """A new empty folder next to ``target`` in which to build it; ``publish_dir`` renames
    it into place once complete (a dataset folder appears whole or not at all)."""
    target = Path(target)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))


def publish_dir(staging: Path, target: str | Path) -> None:
    """Rename a finished ``staging_dir`` onto ``target``, which must not exist (a rename would
    silently replace an empty folder), with the mode a plain mkdir gives it."""
    target = Path(target)
    if target.exists():
        raise FileExistsError(f"{target} exists")
    os.chmod(staging, 0o777 & ~_umask())
    os.rename(staging, target)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)
