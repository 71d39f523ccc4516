"""What BodyRig agrees to read, checked before anything is allocated, and the finite-number rule.

The limits are far above real use (README, "Limits") and stop hostile or broken files early, with a message
that names the limit and what to do, instead of the memory or the time running out:
- a motion holds at most MAX_FRAMES frames (2 hours at 60 fps) at MIN_FPS..MAX_FPS frames per second;
- one array inside an .npz (a motion, a .smpl, a body model) is at most MAX_ARRAY_BYTES once unpacked, and the
  file's zip directory is checked first, so a zip bomb is refused without inflating it;
- one record of a checkpoint's zip is at most MAX_CHECKPOINT_MEMBER_BYTES by the zip directory;
- a body-model pickle expands to at most MAX_MODEL_ELEMENTS array elements and MAX_PICKLE_ITEMS Python list,
  tuple and dict items, nested at most MAX_NESTING deep, counted with every shared reference expanded (as
  numpy would copy it) before any of it is converted;
- numbers crossing a boundary (model files, checkpoints, motion files, fits) are finite, and poses and
  translations within MAX_ANGLE_RAD and MAX_TRANSLATION_M; an EXIF focal length outside FOCAL_35MM_RANGE
  is ignored (with a note) rather than trusted.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np

from .errors import BadInputError

MAX_FRAMES = 432_000  # 2 h at 60 fps
MIN_FPS, MAX_FPS = 0.01, 1000.0
MAX_ARRAY_BYTES = 1 << 30  # 1 GiB: an SMPL-X posedirs is 122 MB, 2 h of SMPL-X poses at 60 fps 570 MB
MAX_NPZ_MEMBERS = 256
MAX_MODEL_FILE_BYTES = 2 << 30
MAX_CHECKPOINT_MEMBER_BYTES = 2 << 30  # one tensor record of a checkpoint's zip (HMR's largest tensor: ~9 MB)
MAX_MODEL_ELEMENTS = 100_000_000  # an SMPL-X file with 300 betas holds about 30 million
MAX_PICKLE_ITEMS = 1_000_000  # SMPL files keep their numbers in arrays; lists and dicts hold a few hundred
MAX_NESTING = 32
MAX_ANGLE_RAD = 1000.0  # |axis-angle| component; real poses stay within a few π
MAX_TRANSLATION_M = 100_000.0  # 100 km
FOCAL_35MM_RANGE = (8.0, 1200.0)  # EXIF focal lengths (35 mm equivalent) outside: ignored, the default used


def check_finite(name: str, values, error=BadInputError, what: str = "", bound: float | None = None,
                 advice: str = "the data is damaged: regenerate or re-export it") -> None:
    """Raise `error` when `values` (array-like of real numbers) holds NaN or inf, or a magnitude over `bound`.
    The message starts with `what` (e.g. the file's name), names `name` and ends with `advice`."""
    arr = np.asarray(values)
    if arr.dtype.kind == "c":
        raise error(f"{what}{name} holds complex numbers; it must be real")
    if arr.dtype.kind not in "biuf":
        raise error(f"{what}{name} is not numeric ({arr.dtype})")
    if arr.dtype.kind != "f":
        return
    with np.errstate(over="ignore", invalid="ignore"):  # a huge but finite sum: the exact check below decides
        total = np.add.reduce(arr, axis=None) if arr.size else 0.0
    if np.isfinite(total):
        pass  # a NaN or inf anywhere makes the sum non-finite: one pass, no mask (tens of MB in a body model)
    elif (bad := ~np.isfinite(arr)).any():
        kinds = sorted({("NaN" if np.isnan(v) else "inf") for v in arr[bad][:1000]})
        raise error(f"{what}{name} holds {int(bad.sum())} non-finite value(s) ({'/'.join(kinds)}); "
                    f"{advice}")
    if bound is not None and arr.size and float(np.abs(arr).max()) > bound:
        raise error(f"{what}{name} holds {float(np.abs(arr).max()):.3g}, beyond the limit of {bound:g} "
                    f"(README, Limits); {advice}")


class NpzMember:
    """What an .npz member's header says, read without loading it: shape, dtype, and bytes once unpacked."""

    __slots__ = ("name", "shape", "dtype", "nbytes")

    def __init__(self, name, shape, dtype):
        self.name, self.shape, self.dtype = name, tuple(int(s) for s in shape), dtype
        self.nbytes = int(np.prod(self.shape, dtype=np.float64)) * dtype.itemsize


def npz_members(source, label: str, error=BadInputError, check=None) -> dict:
    """{key: NpzMember} of an .npz (a path, bytes or a file object), from its zip directory and .npy headers
    only: nothing is inflated past a header. `check(members)` runs first (e.g. the frame count, for the clearer
    message); then more than MAX_NPZ_MEMBERS members, or any member over MAX_ARRAY_BYTES by its directory entry
    or its header, is refused with `error`. A member that is not a readable .npy is an error too."""
    from numpy.lib import format as npy

    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise error(f"{label} is truncated or corrupt (not a readable .npz: {exc}); it may be of another kind") \
            from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_NPZ_MEMBERS:
            raise error(f"{label} holds {len(infos)} arrays, over the limit of {MAX_NPZ_MEMBERS} (README, Limits)")
        out, sizes = {}, {}
        for info in infos:
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if not info.filename.endswith(".npy"):  # not an array (numpy reads it as raw bytes): size only
                sizes[key] = info.file_size
                continue
            try:
                with zf.open(info) as f:  # inflates the first few hundred bytes: the header
                    version = npy.read_magic(f)
                    if version == (1, 0):
                        shape, _, dtype = npy.read_array_header_1_0(f)
                    elif version == (2, 0):
                        shape, _, dtype = npy.read_array_header_2_0(f)
                    else:
                        raise ValueError(f"unsupported .npy version {version}")
            except (ValueError, OSError, EOFError, zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
                raise error(f"{label}: array '{key}' is not readable ({str(exc)[:120]}); the file is damaged") \
                    from None
            out[key] = NpzMember(key, shape, dtype)
            sizes[key] = max(info.file_size, out[key].nbytes)
        if check is not None:
            check(out)
        for key, nbytes in sizes.items():
            if nbytes > MAX_ARRAY_BYTES:
                raise error(f"{label}: array '{key}' unpacks to {nbytes >> 20} MB, over the limit of "
                            f"{MAX_ARRAY_BYTES >> 20} MB per array (README, Limits); it is damaged or not a "
                            "BodyRig input")
        return out


def check_frames(frames: int, label: str) -> None:
    """Refuse a motion of more than MAX_FRAMES frames (before its arrays are read)."""
    if frames > MAX_FRAMES:
        raise BadInputError(
            f"{label} holds {frames} frames, over the limit of {MAX_FRAMES} (2 hours at 60 fps; README, Limits); "
            "split it, or export a frame range of it")


def check_fps(fps, label: str) -> float:
    """The frame rate as a float within MIN_FPS..MAX_FPS, else BadInputError."""
    arr = np.asarray(fps)
    if arr.dtype.kind not in "iuf" or arr.size != 1:
        raise BadInputError(f"{label}: the frame rate must be one number, got {arr.dtype} of shape {arr.shape}")
    value = float(arr.reshape(()))
    if not (MIN_FPS <= value <= MAX_FPS):  # also NaN
        raise BadInputError(f"{label}: frame rate {value:g} is outside {MIN_FPS:g}..{MAX_FPS:g} fps "
                            "(README, Limits); fix the file's frame rate")
    return value


def check_pickle_size(obj, label: str, error) -> None:
    """Refuse an unpickled object graph that expands past MAX_PICKLE_ITEMS container items, MAX_MODEL_ELEMENTS
    array elements or MAX_NESTING levels, counting every shared reference as the copy numpy would make."""
    sizes: dict = {}  # id → (items, elements) of a finished object; None while it is being counted

    def size(o, depth):
        if depth > MAX_NESTING:
            raise error(f"{label} nests containers more than {MAX_NESTING} deep (README, Limits); "
                        "it is not an SMPL model file")
        if isinstance(o, (str, bytes, bytearray, int, float, bool, complex, type(None), np.generic, type)):
            return 0, 1
        key = id(o)
        if key in sizes:
            if sizes[key] is None:
                raise error(f"{label} holds a container that contains itself; it is not an SMPL model file")
            return sizes[key]
        sizes[key] = None
        if isinstance(o, np.ndarray):
            if o.dtype.kind == "O":
                children, items, elements = list(o.ravel()), o.size, 0
            else:
                children, items, elements = (), 0, o.size
        elif isinstance(o, dict):
            children, items, elements = [*o.keys(), *o.values()], len(o), 0
        elif isinstance(o, (list, tuple, set, frozenset)):
            children, items, elements = list(o), len(o), 0
        else:  # the unpickler's inert stand-ins: their pickled arguments and state
            children, items, elements = [getattr(o, "args", ()), getattr(o, "state", None)], 0, 0
        for child in children:
            i, e = size(child, depth + 1)
            items, elements = items + i, elements + e
            if items > MAX_PICKLE_ITEMS or elements > MAX_MODEL_ELEMENTS:
                raise error(
                    f"{label} expands to over {MAX_PICKLE_ITEMS} list items or {MAX_MODEL_ELEMENTS} numbers "
                    "(README, Limits); it is not an SMPL model file (official files hold far fewer)")
        sizes[key] = (items, elements)
        return items, elements

    size(obj, 0)


def check_checkpoint_zip(path, label: str, error) -> None:
    """Refuse a zip-format checkpoint (torch.save's) with a record over MAX_CHECKPOINT_MEMBER_BYTES once
    unpacked, from its zip directory alone; other formats pass (torch reads them)."""
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as zf:
            biggest = max((i for i in zf.infolist()), key=lambda i: i.file_size, default=None)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return  # torch.load says what is wrong with it
    if biggest is not None and biggest.file_size > MAX_CHECKPOINT_MEMBER_BYTES:
        raise error(f"{label}: its record '{biggest.filename}' unpacks to {biggest.file_size >> 20} MB, over the "
                    f"limit of {MAX_CHECKPOINT_MEMBER_BYTES >> 20} MB (README, Limits); it is damaged or not a "
                    "checkpoint")
