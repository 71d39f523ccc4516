"""Generators of hostile inputs, made at test time (small files; nothing binary is committed).

Each generator writes one file and returns its path. Families:
- motion files: `MOTION_CASES` (malformed .npz motions, one clear error each), `nonfinite_motion`,
  `long_zero_motion` (a ~1 MB .npz claiming 2,000,000 frames of zeros), `zip_bomb_npz` (a few MB that inflate to
  GBs), `smpl_file` (.smpl written by smplcodec with any frame count);
- body models: `MODEL_CASES` (NaN/inf/complex/text arrays, no faces, bad metadata_json, text extra_vertex_ids),
  `shared_list_pickle` (a ~1 KB pickle whose shared lists expand past billions of numbers), `deep_pickle`;
- checkpoints: `damaged_state_dict(state, kind, key)` (NaN, inf, int32 or complex tensors).
The large files are written as raw deflate streams of repeated blocks, so making them costs no memory and
little time.
"""

from __future__ import annotations

import io
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np

# ---------------------------------------------------------------------------------------------------------
# Zip files of zeros, written without holding the data: deflate blocks after a full flush are independent, so
# one compressed block of zeros repeated N times is a valid stream of N blocks of zeros.

_BLOCK = 1 << 20


def _zero_deflate(prefix: bytes, zeros: int):
    """(compressed chunks, crc32, uncompressed size) of `prefix` followed by `zeros` zero bytes."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(_BLOCK)) + c.flush(zlib.Z_FULL_FLUSH)
    full, rest = divmod(zeros, _BLOCK)
    tail = c.compress(bytes(rest)) + c.flush(zlib.Z_FINISH)
    crc = zlib.crc32(prefix)
    zero_block = bytes(_BLOCK)
    for _ in range(full):
        crc = zlib.crc32(zero_block, crc)
    crc = zlib.crc32(bytes(rest), crc)
    return [head] + [block] * full + [tail], crc & 0xFFFFFFFF, len(prefix) + zeros


def _npy_header(shape, dtype="<f8") -> bytes:
    from numpy.lib import format as npy

    buf = io.BytesIO()
    npy.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": tuple(shape)})
    return buf.getvalue()


def _npy_bytes(arr) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=False)
    return buf.getvalue()


def write_zip(path, members: dict) -> Path:
    """A zip (no zip64: every member under 4 GiB) of {name: bytes | (chunks, crc, size)}, deflated."""
    path = Path(path)
    central, offset = [], 0
    with open(path, "wb") as f:
        for name, member in members.items():
            if isinstance(member, (bytes, bytearray)):
                c = zlib.compressobj(9, zlib.DEFLATED, -15)
                member = ([c.compress(member) + c.flush()], zlib.crc32(member) & 0xFFFFFFFF, len(member))
            chunks, crc, size = member
            csize = sum(len(ch) for ch in chunks)
            raw = name.encode()
            f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, csize, size, len(raw), 0) + raw)
            for ch in chunks:
                f.write(ch)
            central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, csize, size,
                                       len(raw), 0, 0, 0, 0, 0, offset) + raw)
            offset += 30 + len(raw) + csize
        cd = b"".join(central)
        f.write(cd)
        f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), len(cd), offset, 0))
    return path


def long_zero_motion(path, frames: int = 2_000_000) -> Path:
    """An AMASS-style .npz of `frames` frames of zero poses (~1.1 MB on disk for 2M frames, 1.15 GB inflated)."""
    header = _npy_header((frames, 72))
    return write_zip(path, {
        "poses.npy": _zero_deflate(header, frames * 72 * 8),
        "trans.npy": _zero_deflate(_npy_header((frames, 3)), frames * 3 * 8),
        "mocap_framerate.npy": _npy_bytes(np.array(60.0)),
    })


def zip_bomb_npz(path, gib: float = 3.0) -> Path:
    """A valid one-frame motion plus a member of `gib` GiB of zeros (a few MB on disk)."""
    zeros = int(gib * (1 << 30))
    return write_zip(path, {
        "poses.npy": _npy_bytes(np.zeros((1, 72))),
        "mocap_framerate.npy": _npy_bytes(np.array(30.0)),
        "junk.npy": _zero_deflate(_npy_header((zeros // 8,)), zeros),
    })


# ---------------------------------------------------------------------------------------------------------
# Motion files

def good_motion_arrays(t: int = 5) -> dict:
    rng = np.random.default_rng(0)
    return {"poses": rng.normal(0, 0.3, (t, 72)), "trans": rng.normal(0, 1, (t, 3)), "betas": np.zeros(10),
            "gender": np.array("neutral"), "mocap_framerate": np.array(30.0)}


def _motion(path, drop=(), **changes) -> Path:
    arrays = {k: v for k, v in good_motion_arrays().items() if k not in drop}
    arrays.update(changes)
    np.savez(path, **arrays)
    return Path(path)


# name → generator(path); each is a malformed motion file that must give one BadInputError.
MOTION_CASES = {
    "empty_fps": lambda p: _motion(p, mocap_framerate=np.zeros(0)),
    "string_fps": lambda p: _motion(p, mocap_framerate=np.array("thirty")),
    "huge_fps": lambda p: _motion(p, mocap_framerate=np.array(1e12)),
    "zero_fps": lambda p: _motion(p, mocap_framerate=np.array(0.0)),
    "metadata_list": lambda p: _motion(p, bodyrig_metadata=np.array("[1, 2]")),
    "metadata_not_json": lambda p: _motion(p, bodyrig_metadata=np.array("{oops")),
    "root_orient_length": lambda p: _motion(p, drop=("poses",), root_orient=np.zeros((5, 3)),
                                            pose_body=np.zeros((4, 63))),
    "string_poses": lambda p: _motion(p, poses=np.full((5, 72), "x")),
    "complex_poses": lambda p: _motion(p, poses=np.zeros((5, 72), complex)),
    "empty_gender": lambda p: _motion(p, gender=np.array([], dtype=str)),
    "string_detected": lambda p: _motion(p, detected=np.array(["yes"] * 5)),
    "trans_2d_wrong": lambda p: _motion(p, trans=np.zeros((5, 2))),
    "huge_trans": lambda p: _motion(p, trans=np.full((5, 3), 1.5e12)),
    "huge_pose": lambda p: _motion(p, poses=np.full((5, 72), 1e200)),
}

NONFINITE_FIELDS = ("poses", "trans", "betas", "mocap_framerate")


def nonfinite_motion(path, key: str, value: float = float("nan")) -> Path:
    """A motion whose `key` (one of NONFINITE_FIELDS) holds `value` (NaN or ±inf) in one place."""
    arr = np.array(good_motion_arrays()[key], dtype=np.float64, copy=True)
    arr.reshape(-1)[arr.size // 2] = value
    return _motion(path, **{key: arr})


def smpl_file(path, frames: int, frame_count: int | None = None) -> Path:
    """A .smpl (SMPL version) with `frames` frames of poses and a frameCount of `frame_count` (default: frames);
    written directly, so a frameCount of 0 with no pose data is possible."""
    arrays = {"codecVersion": np.array(1, np.int32), "smplVersion": np.array(0, np.int32),
              "gender": np.array(0, np.int32), "shapeParameters": np.zeros(10, np.float32)}
    count = frames if frame_count is None else frame_count
    arrays["frameCount"] = np.array(count, np.int32)
    if frames:
        arrays["frameRate"] = np.array(30.0, np.float32)
        arrays["bodyPose"] = np.zeros((frames, 24, 3), np.float32)
        arrays["bodyTranslation"] = np.zeros((frames, 3), np.float32)
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return Path(path)


# ---------------------------------------------------------------------------------------------------------
# Body models (a valid model's arrays, one thing spoilt)

def tiny_model_arrays() -> dict:
    """The arrays of the tiny test model as save_body_model writes them (with a metadata_json)."""
    import tempfile

    from inference.body import tiny_model
    from inference.body.smpl_io import save_body_model

    data = tiny_model()
    data.metadata = {"made_by": "tests"}
    with tempfile.TemporaryDirectory() as tmp:
        path = save_body_model(data, Path(tmp) / "tiny.npz")
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}


def _spoilt(key, fn):
    def make(path):
        arrays = tiny_model_arrays()
        arrays[key] = fn(arrays[key])
        np.savez(path, **arrays)
        return Path(path)
    return make


def _with_nan(a):
    a = np.array(a, dtype=np.float64, copy=True)
    a.reshape(-1)[0] = np.nan
    return a


MODEL_CASES = {
    "nan_v_template": _spoilt("v_template", _with_nan),
    "inf_shapedirs": _spoilt("shapedirs", lambda a: np.where(np.arange(a.size).reshape(a.shape) == 1, np.inf, a)),
    "nan_weights": _spoilt("weights", _with_nan),
    "complex_posedirs": _spoilt("posedirs", lambda a: a.astype(complex)),
    "text_weights": _spoilt("weights", lambda a: np.full(a.shape, "w")),
    "fractional_faces": _spoilt("f", lambda a: a.astype(np.float64) + 0.5),
    "no_faces": _spoilt("f", lambda a: np.zeros((0, 3), np.int64)),
    "metadata_not_json": _spoilt("metadata_json", lambda a: np.array("{not json")),
    "metadata_list": _spoilt("metadata_json", lambda a: np.array("[1, 2]")),
    "text_extra_vertex_ids": _spoilt("extra_vertex_ids", lambda a: np.array(["abc"] * len(a))),
}


def shared_list_pickle(path, width: int = 40, depth: int = 7) -> Path:
    """A ~1 KB pickle of an SMPL-keyed dict whose v_template is `depth` levels of one shared list repeated
    `width` times: width**depth numbers (40**7 = 1.6e11) once expanded."""
    level = [0.0] * width
    for _ in range(depth - 1):
        level = [level] * width
    d = {k: level for k in ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")}
    Path(path).write_bytes(pickle.dumps(d, protocol=2))
    return Path(path)


def sparse_bomb_pickle(path, cols: int = 10**9) -> Path:
    """A pickle whose J_regressor is an empty scipy csr_matrix claiming 24 x `cols` (dense: 24e9 numbers)."""
    import scipy.sparse as sp

    arrays = tiny_model_arrays()
    d = {k: arrays[k] for k in ("v_template", "shapedirs", "posedirs", "weights", "kintree_table", "f")}
    d["J_regressor"] = sp.csr_matrix((24, cols))  # csr: its index array has 25 entries, not cols + 1
    Path(path).write_bytes(pickle.dumps(d, protocol=4))
    return Path(path)


def deep_pickle(path, depth: int = 100_000) -> Path:
    """A pickle of {"v_template": [[[...]]]} nested `depth` deep, written opcode by opcode (pickle.dumps
    would hit the recursion limit)."""
    key = b"v_template"
    body = b"\x80\x02}" + b"X" + struct.pack("<I", len(key)) + key + b"]" * depth + b"a" * (depth - 1) + b"s."
    Path(path).write_bytes(body)
    return Path(path)


# ---------------------------------------------------------------------------------------------------------
# Checkpoints

DAMAGE_KINDS = ("nan", "inf", "int32", "complex")


def zip_bomb_checkpoint(path, gib: float = 3.0) -> Path:
    """A zip laid out like torch.save's with one record of `gib` GiB of zeros (a few MB on disk)."""
    zeros = int(gib * (1 << 30))
    return write_zip(path, {"archive/data.pkl": b"\x80\x02}q\x00.", "archive/data/0": _zero_deflate(b"", zeros)})


def damaged_state_dict(state: dict, kind: str, key: str) -> dict:
    """A copy of `state` whose tensor `key` is spoilt: NaN or inf in one place, or cast to int32 / complex64."""
    import torch

    out = dict(state)
    t = state[key].clone()
    if kind in ("nan", "inf"):
        t.view(-1)[0] = float(kind)
    elif kind == "int32":
        t = (t * 1000).to(torch.int32)
    elif kind == "complex":
        t = t.to(torch.complex64)
    else:
        raise ValueError(kind)
    out[key] = t
    return out

