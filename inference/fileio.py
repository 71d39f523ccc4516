"""Atomic file writes: write to a temporary name beside the target, then rename, so that an interrupted
run never leaves a half-written file under the final name."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None):
    """Yield a temporary path in the target's folder; on success it is renamed to `path`, on error removed.

    `suffix` defaults to the target's own suffix, for writers that choose the format by extension.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix if suffix is not None else path.suffix,
                               dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the permissions a plain open() would
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_bytes(path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def check_output_path(path, suffixes=None, what: str = "--out") -> Path:
    """Refuse an output path before any work is done, with one line that says what to do → the path.

    Refused: an empty name, a folder, a suffix not in `suffixes` (when given), a path under a regular file, and
    a folder where no file can be created (read-only file system, no permission, no space left for even an empty
    file) - found by creating and removing a probe file in the nearest existing folder, as a root user passes
    any permission check by mode bits alone. Missing folders are allowed (atomic_path creates them).
    Raises inference.errors.BadInputError.
    """
    import errno

    from .errors import BadInputError

    if path is None or not str(path).strip():
        raise BadInputError(f"{what} is empty: give the file to write")
    path = Path(path).expanduser()
    if path.is_dir():
        raise BadInputError(f"{what} {path} is a folder: give a file name inside it")
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise BadInputError(f"{what} {path.name} must end in {' or '.join(suffixes)}")
    folder = path.parent
    while not folder.exists():
        if folder.is_symlink() or folder == folder.parent:
            break
        folder = folder.parent
    if folder.exists() and not folder.is_dir():
        raise BadInputError(f"{what} {path} cannot be written: {folder} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".bodyrig-probe.", dir=folder)
    except OSError as exc:
        why = {errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
               errno.EPERM: "permission denied", errno.ENOSPC: "no space left on the device",
               errno.EDQUOT: "disk quota exceeded"}.get(exc.errno, exc.strerror or str(exc))
        raise BadInputError(f"{what} {path} cannot be written: {why} in {folder}; choose another place") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return path
