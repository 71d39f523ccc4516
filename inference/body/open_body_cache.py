"""The open body's cache file (format 2): quick to read, and checked whole before it is trusted.

    write_cache(data, path)         # atomic; an uncompressed .npz of plain arrays
    read_cache(path, stamp) -> BodyModelData | None   # None: missing, stale, tampered or truncated: rebuild it

Why a format of its own: the open body has no pose correctives, and the SMPL layout's posedirs hold 8.5 million
zeros (68 MB as float64). Format 1 was a compressed SMPL .npz: inflating those zeros was most of its 0.3-0.4 s
load. Here an all-zero posedirs is stored as its shape alone and the rest uncompressed (12 MB), so a load is
reading, one SHA-256 over the arrays and the usual validation (inference.body.smpl_io.body_model_from_dict).
Files are read with allow_pickle=False: nothing in them runs. The digest covers every member's name, dtype,
shape and bytes, so a truncated, edited or mixed-up file is rebuilt rather than used; it is a check against
damage, not a signature (whoever can write the cache folder can write a matching digest).
Exported bodies (`python -m inference body`) stay plain SMPL files (smpl_io), readable by other tools.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

from ..errors import ModelFileError
from ..fileio import atomic_path
from ..limits import MAX_MODEL_FILE_BYTES, npz_members
from .model import BodyModelData
from .skeleton import NUM_POSE_CORRECTIVES

FORMAT = 2
_ZERO_POSEDIRS = "posedirs_zero_shape"  # stands for an all-zero posedirs of this shape
_CHECK_KEYS = ("cache_format", "digest")


def _digest(arrays: dict) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.data if a.dtype.kind != "U" else a.tobytes())
    return h.hexdigest()


def _arrays(data: BodyModelData) -> dict:
    from .smpl_io import file_arrays

    out = file_arrays(data)
    if not data.has_pose_correctives:
        del out["posedirs"]
        out[_ZERO_POSEDIRS] = np.array(data.posedirs.shape, np.int64)
    return out


def write_cache(data: BodyModelData, path) -> Path:
    """Write `data` to `path` in this format (atomically: a failed write leaves nothing under the name)."""
    path = Path(path)
    arrays = _arrays(data)
    arrays["cache_format"] = np.array(FORMAT, np.int64)
    arrays["digest"] = np.array(_digest(arrays))
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, value in arrays.items():
            with zf.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)
    return path


def read_cache(path, stamp: str) -> BodyModelData | None:
    """The body in `path` if it is a whole format-2 file of build `stamp`; None otherwise (the caller rebuilds).
    A file that passes these checks but not the model's own validation raises ModelFileError, as any model."""
    path = Path(path)
    try:
        if not path.is_file() or path.stat().st_size > MAX_MODEL_FILE_BYTES:
            return None
        npz_members(path, path.name, error=ModelFileError)  # sizes from the directory and headers first
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, ModelFileError, KeyError):
        return None  # unreadable, truncated, or holding Python objects: never trusted
    if any(k not in arrays for k in _CHECK_KEYS) or arrays["cache_format"].shape != ():
        return None
    if int(arrays.pop("cache_format")) != FORMAT:
        return None
    digest = str(arrays.pop("digest"))
    arrays["cache_format"] = np.array(FORMAT, np.int64)
    if _digest(arrays) != digest:
        return None
    del arrays["cache_format"]
    try:
        meta = json.loads(str(arrays.get("metadata_json", "{}")))
    except ValueError:
        return None
    if not isinstance(meta, dict) or meta.get("build_stamp") != stamp:
        return None
    if _ZERO_POSEDIRS in arrays:
        shape = tuple(int(s) for s in arrays.pop(_ZERO_POSEDIRS))
        if len(shape) != 3 or shape[2] != NUM_POSE_CORRECTIVES or shape[0] != len(arrays.get("v_template", ())):
            return None
        arrays["posedirs"] = np.zeros(shape)  # calloc'd: no 68 MB written
    from .smpl_io import body_model_from_dict

    return body_model_from_dict(arrays, name=path.stem)
