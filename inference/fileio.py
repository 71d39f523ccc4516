"""Verified atomic file writes: write to a temporary name beside the target, check that the bytes on disk are a
complete file of its format, fsync, then rename, so that a failed, interrupted or disk-full write never leaves a
half-written file under the final name.

`atomic_path(path)` is the one way outputs are written; `is_complete(path)` tells whether a file under its final
name is whole (a rerun redoes what is not); `remove_stale_temporaries(folder, names)` deletes the temporaries a
killed process (kill -9) left behind; `remove_live_temporaries()` deletes this process's own, for a signal
handler that exits at once. A write that fails for lack of space or a read-only folder, or whose result
is incomplete, raises OutputWriteError (a BodyRigError: one line for the user).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import struct
import tempfile
import zipfile
from pathlib import Path

from .errors import OutputWriteError

_LIVE: set = set()  # this process's temporaries not yet renamed or removed

# errno → what the user should do about it
_DISK_ERRORS = {
    errno.ENOSPC: "free some space and rerun",
    errno.EDQUOT: "free some space (disk quota) and rerun",
    errno.EROFS: "choose a writable folder",
    errno.EACCES: "choose a folder you may write to",
    errno.EPERM: "choose a folder you may write to",
    errno.EFBIG: "choose another disk",
}


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None):
    """Yield a temporary path in the target's folder; once the body has written it, the file is fsynced, checked
    to be a complete file of its format (by the temporary's suffix, see `check_complete`), and renamed to `path`
    (the folder is fsynced too). On any error or interruption the temporary is removed and the target untouched.

    `suffix` defaults to the target's own suffix, for writers that choose the format by extension.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.",
                                   suffix=suffix if suffix is not None else path.suffix, dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise as_write_error(path, exc) from None
    _LIVE.add(tmp)
    try:
        try:
            yield Path(tmp)
            _fsync_file(tmp)
            check_complete(tmp, name=path.name)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the permissions a plain open() would
            os.replace(tmp, path)
            _fsync_folder(path.parent)
        except OSError as exc:
            if exc.errno not in _DISK_ERRORS:
                raise
            raise as_write_error(path, exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        _LIVE.discard(tmp)


def remove_live_temporaries() -> None:
    """Delete every temporary this process is writing (and Blender's `...@` beside it): for a signal handler
    that ends the process with os._exit, where no `finally` runs."""
    for tmp in list(_LIVE):
        for p in (tmp, tmp + "@"):
            with contextlib.suppress(OSError):
                os.unlink(p)


def as_write_error(path, exc: OSError) -> Exception:
    """A full-disk, quota, read-only or permission error writing `path` as one OutputWriteError line that says
    what to do; any other OSError is returned as it is (a bug or a fault to show in full)."""
    if exc.errno not in _DISK_ERRORS:
        return exc
    return OutputWriteError(f"cannot write {path}: {exc.strerror or exc} ({errno.errorcode.get(exc.errno, '')}); "
                            f"{_DISK_ERRORS[exc.errno]}")


def _fsync_file(path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (some file systems refuse fsync on a folder: then it is best effort)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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


def atomic_write_npz(path, arrays: dict) -> None:
    """`arrays` as a compressed .npz (the layout np.load reads), atomically. Unlike np.savez, the zip is closed
    on every path: numpy's is left open when a write fails (a full disk), and its finaliser then runs at exit on
    a closed file and prints a traceback under the user's one-line error."""
    import numpy as np

    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for key, value in arrays.items():
            with zf.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)


# ------------------------------------------------------------------------------------------- completeness
class Incomplete(Exception):
    """A file's bytes are not a complete file of its format (the reason is the message)."""


def check_complete(path, name: str | None = None) -> None:
    """Raise OutputWriteError unless `path` is a complete file of the format its suffix names.

    Cheap, format-specific checks (no full parse): .blend header and final ENDB block (zstd-compressed files:
    their seek table), .glb header length = file size, .fbx footer, .npz/.zip central directory, .json parses,
    .bvh frame count = motion lines, .png IEND, .ply header. Other suffixes: it exists (it may be empty).
    """
    path = Path(path)
    label = name or path.name
    try:
        size = path.stat().st_size
        check = _CHECKS.get(path.suffix.lower())
        if check is not None:
            if size == 0:
                raise Incomplete("it is empty")
            check(path, size)
    except Incomplete as exc:
        raise OutputWriteError(f"{label} was not written completely ({exc}); if the disk is full, free some "
                               f"space and rerun") from None
    except OSError as exc:
        raise OutputWriteError(f"{label} cannot be read back after writing: {exc.strerror or exc}") from None


def is_complete(path) -> bool:
    """True when `path` exists and passes `check_complete` (what a rerun may keep)."""
    try:
        check_complete(path)
    except OutputWriteError:
        return False
    return True


_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{8}(\.[A-Za-z0-9]+)?@?$")


def remove_stale_temporaries(folder, names) -> list[Path]:
    """Delete the temporaries `atomic_path` made for the targets `names` in `folder` that a killed process left
    (`.NAME.XXXXXXXX.ext`, and Blender's own `...ext@`). Only one process may write into `folder` at a time.
    Returns the removed paths; files that cannot be removed are left."""
    names, removed = set(names), []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for p in entries:
        m = _TEMP_NAME.match(p.name)
        if m and m.group("name") in names and p.is_file():
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
    return removed


def _head_tail(path: Path, n: int) -> tuple[bytes, bytes]:
    with open(path, "rb") as fh:
        head = fh.read(n)
        fh.seek(max(0, path.stat().st_size - n))
        return head, fh.read(n)


def _blend_endb_ok(head: bytes, tail: bytes) -> bool:
    """The last block of a .blend is ENDB; its block header is 32 bytes in the format of Blender 5
    ('BLENDER17-01v0500'), 16 + pointer size in the older one ('BLENDER-v405' / 'BLENDER_v405')."""
    if not head.startswith(b"BLENDER"):
        return False
    if head[7:9].isdigit():
        bhead = 32
    else:
        bhead = 16 + (8 if head[7:8] == b"-" else 4)
    return len(tail) >= bhead and tail[-bhead:-bhead + 4] == b"ENDB"


_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_ZSTD_SEEKABLE_MAGIC = 0x8F92EAB1
_ZSTD_SKIPPABLE_SEEK_TABLE = 0x184D2A5E


def _check_blend(path: Path, size: int) -> None:
    head, tail = _head_tail(path, 64)
    if head.startswith(b"BLENDER"):
        if not _blend_endb_ok(head, tail):
            raise Incomplete("no final ENDB block")
        return
    if head.startswith(b"\x1f\x8b"):  # gzip (Blender before 3.0): the whole stream must decompress
        import gzip

        try:
            with gzip.open(path, "rb") as fh:
                head = fh.read(64)
                tail = b""
                while chunk := fh.read(1 << 20):
                    tail = (tail + chunk)[-64:]
        except (OSError, EOFError) as exc:
            raise Incomplete(f"damaged gzip stream: {exc}") from None
        if not _blend_endb_ok(head, tail or head):
            raise Incomplete("no final ENDB block")
        return
    if head.startswith(_ZSTD_MAGIC):
        _check_zstd_blend(path, size)
        return
    raise Incomplete("no BLENDER header")


def _check_zstd_blend(path: Path, size: int) -> None:
    """Blender writes zstd as independent frames plus a seek table (a skippable frame at the end): the table's
    frame sizes must add up to the file's size; with the `zstandard` module, the first frame must start with the
    BLENDER header and the last one end with the ENDB block."""
    with open(path, "rb") as fh:
        fh.seek(size - 9)
        count, descriptor, magic = struct.unpack("<IBI", fh.read(9))
        if magic != _ZSTD_SEEKABLE_MAGIC:
            raise Incomplete("no zstd seek table at its end")
        entry = 12 if descriptor & 0x80 else 8
        table = 8 + count * entry + 9
        if table > size:
            raise Incomplete("zstd seek table larger than the file")
        fh.seek(size - table)
        skip_magic, frame_size = struct.unpack("<II", fh.read(8))
        if skip_magic != _ZSTD_SKIPPABLE_SEEK_TABLE or frame_size != table - 8:
            raise Incomplete("damaged zstd seek table")
        sizes = [struct.unpack_from("<I", fh.read(entry))[0] for _ in range(count)]
        if sum(sizes) + table != size or not sizes:
            raise Incomplete(f"zstd frames add up to {sum(sizes) + table} bytes, the file has {size}")
        try:
            import zstandard
        except ImportError:
            return
        fh.seek(0)
        first = fh.read(sizes[0])
        fh.seek(sum(sizes[:-1]))
        last = fh.read(sizes[-1])
    try:
        head = zstandard.ZstdDecompressor().decompressobj().decompress(first)[:64]
        tail = zstandard.ZstdDecompressor().decompressobj().decompress(last)[-64:]
    except zstandard.ZstdError as exc:
        raise Incomplete(f"damaged zstd frame: {exc}") from None
    if not _blend_endb_ok(head, tail if len(sizes) > 1 else head + tail):
        raise Incomplete("no BLENDER header or no final ENDB block")


def _check_glb(path: Path, size: int) -> None:
    head, _ = _head_tail(path, 12)
    if len(head) < 12 or head[:4] != b"glTF":
        raise Incomplete("no glTF header")
    declared = struct.unpack_from("<I", head, 8)[0]
    if declared != size:
        raise Incomplete(f"its header says {declared} bytes, the file has {size}")


_FBX_FOOTER = b"\xf8\x5a\x8c\x6a\xde\xf5\xd9\x7e\xec\xe9\x0c\xe3\x75\x8f\x29\x0b"


def _check_fbx(path: Path, size: int) -> None:
    head, tail = _head_tail(path, 32)
    if head.startswith(b"Kaydara FBX Binary"):
        if not tail.endswith(_FBX_FOOTER):
            raise Incomplete("no binary FBX footer")
    elif b"FBXHeaderExtension" not in head and not head.lstrip().startswith(b";"):
        raise Incomplete("no FBX header")


def _check_zip(path: Path, size: int) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            if not zf.infolist():
                raise Incomplete("an empty archive")
    except (zipfile.BadZipFile, EOFError) as exc:
        raise Incomplete(f"not a complete zip archive: {exc}") from None


def _check_json(path: Path, size: int) -> None:
    try:
        json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise Incomplete(f"the JSON does not parse: {exc}") from None


def _check_bvh(path: Path, size: int) -> None:
    text = path.read_bytes()
    if not text.startswith(b"HIERARCHY") or b"MOTION" not in text:
        raise Incomplete("no HIERARCHY and MOTION sections")
    motion = text[text.index(b"MOTION"):].splitlines()
    m = re.match(rb"Frames:\s*(\d+)", motion[1].strip()) if len(motion) > 1 else None
    frames = [line for line in motion[3:] if line.strip()]
    if m is None or len(frames) != int(m.group(1)) or not text.endswith(b"\n"):
        raise Incomplete("fewer motion lines than its frame count")


def _check_png(path: Path, size: int) -> None:
    head, tail = _head_tail(path, 12)
    if not head.startswith(b"\x89PNG\r\n\x1a\n") or tail[4:8] != b"IEND":
        raise Incomplete("no PNG signature or no final IEND chunk")


def _check_ply(path: Path, size: int) -> None:
    head, _ = _head_tail(path, 4096)
    if not head.startswith(b"ply") or b"end_header" not in head:
        raise Incomplete("no complete PLY header")


_CHECKS = {".blend": _check_blend, ".glb": _check_glb, ".fbx": _check_fbx, ".npz": _check_zip,
           ".zip": _check_zip, ".json": _check_json, ".bvh": _check_bvh, ".png": _check_png, ".ply": _check_ply}


def check_output_path(path, suffixes=None, what: str = "--out") -> Path:
    """Refuse an output path before any work is done, with one line that says what to do → the path.

    Refused: an empty name, a folder, a suffix not in `suffixes` (when given), a path under a regular file, and
    a folder where no file can be created (read-only file system, no permission, no space left for even an empty
    file) - found by creating and removing a probe file in the nearest existing folder, as a root user passes
    any permission check by mode bits alone. Missing folders are allowed (atomic_path creates them).
    Raises inference.errors.BadInputError.
    """
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
        advice = _DISK_ERRORS.get(exc.errno, "choose another place")
        why = (exc.strerror or str(exc)).lower()
        raise BadInputError(f"{what} {path} cannot be written: {why} in {folder}; {advice}") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return path
