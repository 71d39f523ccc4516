"""Reading and writing SMPL-format model files without ever executing code from them.

Formats read:
  * the official SMPL v1.0/v1.1 `.pkl`: Python-2 pickles whose arrays are chumpy `Ch` objects and whose
    `J_regressor` is a scipy sparse matrix. They are read by a restricted unpickler that knows a short list of
    globals (numpy array/dtype reconstruction, scipy sparse classes, chumpy's Ch, a few builtins) and refuses
    every other one with ModelFileError before anything runs. chumpy and scipy classes become inert stubs
    (plain objects holding the pickled state); nothing of chumpy is imported;
  * `.npz` with the same keys (read with allow_pickle=False);
  * our own files written by `save_body_model`: `.npz`, or a `.pkl` of plain numpy arrays that smplx's
    `SMPL(model_path=...)` reads exactly as it reads the official files.
The format is told by the file's first bytes, not by its name.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np

from ..errors import ModelFileError
from ..fileio import atomic_path, atomic_write_npz
from ..limits import MAX_MODEL_ELEMENTS, MAX_MODEL_FILE_BYTES, check_finite, check_pickle_size, npz_members
from .model import BodyModelData
from .skeleton import NUM_JOINTS

SMPL_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")

# Other models of the SMPL family, told apart by their joint count (kintree_table / J_regressor rows).
_OTHER_KINDS = {
    5: "a FLAME head model (5 joints)",
    16: "a MANO hand model (16 joints)",
    52: "an SMPL-H body-and-hands model (52 joints)",
    55: "an SMPL-X model (55 joints)",
}
_REEXPORT = "The file is damaged: download or export it again"
_NEED = "BodyRig needs an SMPL body model (24 joints), e.g. SMPL_NEUTRAL.pkl from SMPL v1.1, or use 'open'"


# ---------------------------------------------------------------------------------------------------------
# Inert stand-ins for the classes that official files name. They only keep the state the pickle hands them.

class _Stub:
    """A pickled object of a class we do not import: keeps REDUCE args and BUILD state, runs nothing."""

    def __init__(self, *args):
        self.args = args
        self.state = None

    def __setstate__(self, state):
        self.state = state

    def __reduce__(self):  # never write a stub back out by accident
        raise TypeError(f"{type(self).__name__} is a read-only stand-in")


class _ChStub(_Stub):
    """chumpy.ch.Ch: its pickled __dict__ holds the array under 'x'."""

    def array(self) -> np.ndarray:
        x = self.state.get("x") if isinstance(self.state, dict) else None
        if isinstance(x, _ChStub):
            return x.array()
        if not isinstance(x, np.ndarray):
            raise ModelFileError("a chumpy array in this file holds no plain array ('x'); re-export the model")
        return x


class _OtherChumpyStub(_Stub):
    """Any other chumpy class (a computed expression): loadable, but its value cannot be recovered."""


class _SparseStub(_Stub):
    """scipy.sparse *_matrix / *_array: its pickled __dict__ holds data/indices/indptr (or row/col) + shape."""

    fmt = "csc"

    def dense(self) -> np.ndarray:
        import scipy.sparse as sp

        d = self.state if isinstance(self.state, dict) else {}
        shape = d.get("_shape", d.get("shape"))
        try:
            shape = tuple(int(s) for s in shape)
            if len(shape) != 2 or min(shape) < 0 or shape[0] * shape[1] > MAX_MODEL_ELEMENTS:
                raise ModelFileError(f"a sparse matrix in this file claims the shape {shape}, over the limit of "
                                     f"{MAX_MODEL_ELEMENTS} numbers (README, Limits); it is not an SMPL model file")
            data = np.asarray(d["data"], dtype=np.float64)
            if self.fmt in ("csc", "csr"):
                cls = sp.csc_matrix if self.fmt == "csc" else sp.csr_matrix
                m = cls((data, np.asarray(d["indices"]), np.asarray(d["indptr"])), shape=shape)
            else:  # coo: older scipy keeps row/col, newer keeps coords
                row, col = d["coords"] if "coords" in d else (d["row"], d["col"])
                m = sp.coo_matrix((data, (np.asarray(row), np.asarray(col))), shape=shape)
            return np.asarray(m.toarray())
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"a sparse matrix in this file is damaged ({exc})") from None


def _sparse_stub(fmt):
    return type(f"_{fmt}Stub", (_SparseStub,), {"fmt": fmt})


_SPARSE_STUBS = {fmt: _sparse_stub(fmt) for fmt in ("csc", "csr", "coo")}


# ---------------------------------------------------------------------------------------------------------
# The restricted unpickler

def _reconstructor(cls, base, state):
    """copy_reg._reconstructor for protocol 0/1 pickles, limited to our stubs on top of `object`."""
    if not (isinstance(cls, type) and issubclass(cls, _Stub)) or base is not object or state is not None:
        raise ModelFileError("this model file rebuilds objects in a way SMPL files never do; refusing to load it")
    return cls()


def _latin1_encode(text, encoding="latin1"):
    """_codecs.encode as Python-3 protocol-2 pickles use it for bytes: only the latin-1 codec is allowed."""
    if encoding.replace("-", "").replace("_", "").lower() not in ("latin1", "iso88591") or not isinstance(text, str):
        raise ModelFileError(f"this model file asks for the {encoding!r} codec; refusing to load it")
    return text.encode("latin1")


def _multiarray():
    try:  # numpy 2 (and 1.26's forward shim); numpy.core warns on numpy 2
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - older numpy
        from numpy.core import multiarray
    return multiarray


def _np_reconstruct(subtype, shape, dtype):
    _reconstruct = _multiarray()._reconstruct

    if subtype is not np.ndarray:
        raise ModelFileError("this model file rebuilds an array of an unexpected type; refusing to load it")
    return _reconstruct(subtype, shape, dtype)


def _np_scalar(dtype, data=None):
    scalar = _multiarray().scalar
    return scalar(dtype) if data is None else scalar(dtype, data)


def _np_frombuffer(buf, dtype, shape, order):
    return np.frombuffer(buf, dtype=dtype).reshape(shape, order=order).copy()


def _allowed_globals() -> dict:
    allowed = {}
    for core in ("numpy.core", "numpy._core"):  # numpy 1.x and 2.x spell the module differently
        allowed[(f"{core}.multiarray", "_reconstruct")] = _np_reconstruct
        allowed[(f"{core}.multiarray", "scalar")] = _np_scalar
        allowed[(f"{core}.numeric", "_frombuffer")] = _np_frombuffer
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = np.dtype
    for fmt, stub in _SPARSE_STUBS.items():  # old (scipy.sparse.csc) and new (scipy.sparse._csc) paths
        for mod in (f"scipy.sparse.{fmt}", f"scipy.sparse._{fmt}", "scipy.sparse"):
            allowed[(mod, f"{fmt}_matrix")] = stub
            allowed[(mod, f"{fmt}_array")] = stub
    allowed[("chumpy.ch", "Ch")] = _ChStub
    allowed[("chumpy", "Ch")] = _ChStub
    for mod in ("copy_reg", "copyreg"):
        allowed[(mod, "_reconstructor")] = _reconstructor
    for mod in ("__builtin__", "builtins"):
        allowed[(mod, "object")] = object
        allowed[(mod, "set")] = set
        allowed[(mod, "frozenset")] = frozenset
    allowed[("_codecs", "encode")] = _latin1_encode
    return allowed


_ALLOWED = _allowed_globals()


class _SafeUnpickler(pickle.Unpickler):
    """Resolves only the globals listed in _ALLOWED; any other name is refused before it can be called."""

    def find_class(self, module, name):
        found = _ALLOWED.get((module, name))
        if found is None and module.split(".")[0] == "chumpy" and name.isidentifier():
            found = _OtherChumpyStub  # an inert stand-in; its value is refused later if it is ever needed
        if found is None:
            raise ModelFileError(
                f"refusing to load this model file: it names '{module}.{name}', which an SMPL model file never "
                "needs (the file may be malicious or not a body model)"
            )
        return found

    def persistent_load(self, pid):
        raise ModelFileError("refusing to load this model file: it uses persistent references")


def _read_pickle(raw: bytes) -> dict:
    obj = _SafeUnpickler(io.BytesIO(raw), encoding="latin1").load()
    check_pickle_size(obj, "the file", ModelFileError)  # before anything is expanded or converted
    if not isinstance(obj, dict):
        raise ModelFileError(f"the file holds a {type(obj).__name__}, not the dictionary of an SMPL model")
    return obj


_NPZ_KEYS = SMPL_KEYS + ("vt", "ft", "extra_vertex_names", "extra_vertex_ids", "name", "gender", "metadata_json")


def _read_npz(raw: bytes) -> dict:
    """The members we use. Python-object members are never unpickled: skipped where unused (npz files
    converted from official pickles keep e.g. pose_training_info that way), refused where needed."""
    npz_members(raw, "the file", error=ModelFileError)  # sizes from the zip directory and headers first
    out = {}
    with np.load(io.BytesIO(raw), allow_pickle=False) as z:
        for k in z.files:
            try:
                out[k] = z[k]
            except ValueError as exc:
                if "allow_pickle" not in str(exc) or k in _NPZ_KEYS:
                    raise
    return out


# ---------------------------------------------------------------------------------------------------------
# From a dictionary of arrays to BodyModelData

def _plain(value):
    """Stubs → numpy arrays; everything else unchanged."""
    if isinstance(value, _ChStub):
        return value.array()
    if isinstance(value, _SparseStub):
        return value.dense()
    if isinstance(value, _Stub):
        raise ModelFileError("an array of this file is a chumpy expression, not stored values; re-export the "
                             "model with plain arrays")
    return value


def _joint_count(d: dict) -> int | None:
    for key, axis in (("kintree_table", 1), ("J_regressor", 0)):
        try:
            return int(np.shape(_plain(d[key]))[axis])
        except (KeyError, IndexError, TypeError):
            continue
    return None


def _text(value, default: str) -> str:
    if value is None:
        return default
    value = value.item() if isinstance(value, np.ndarray) and value.ndim == 0 else value
    if isinstance(value, bytes):
        value = value.decode("latin1")
    return str(value) if isinstance(value, str) and value else default


def _guess_gender(stem: str) -> str:
    s = stem.lower()
    if "female" in s or "_f_" in s or s.endswith("_f"):
        return "female"
    if "male" in s or "_m_" in s or s.endswith("_m"):
        return "male"
    return "neutral"


# SMPL's official mesh has 6890 vertices; these of its vertices are the landmarks that SMPL-based tools
# (smplx's vertex_ids table, OpenPose-style extras) use for the face and the feet.
SMPL_NUM_VERTICES = 6890
SMPL_EXTRA_VERTEX_IDS = {
    "nose": 332, "right_eye": 6260, "left_eye": 2800, "right_ear": 4071, "left_ear": 583,
    "left_big_toe": 3216, "left_small_toe": 3226, "left_heel": 3387,
    "right_big_toe": 6617, "right_small_toe": 6624, "right_heel": 6787,
}


_INDEX_KEYS = ("kintree_table", "f", "ft")  # whole numbers; the others real numbers


def _numeric(value, key: str, name: str) -> np.ndarray:
    """One model array as numpy, refusing what is not real numbers (text, objects, complex, NaN/inf) and
    index arrays holding fractions, by the array's name."""
    try:
        arr = np.asarray(_plain(value))
    except (ValueError, TypeError, RecursionError, OverflowError):
        raise ModelFileError(f"{name}: '{key}' is not a numeric array") from None
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        kind = "complex numbers" if arr.dtype.kind == "c" else f"{arr.dtype}, not numbers"
        raise ModelFileError(f"{name}: '{key}' holds {kind}; an SMPL model's arrays are real numbers. {_REEXPORT}")
    if arr.dtype.kind == "f":
        check_finite(f"'{key}'", arr, error=ModelFileError, what=f"{name}: ", advice=_REEXPORT)
        if key in _INDEX_KEYS and arr.size and not np.array_equal(arr, np.round(arr)):
            raise ModelFileError(f"{name}: '{key}' holds fractions where vertex/joint numbers belong. {_REEXPORT}")
    return arr


def body_model_from_dict(d: dict, name: str = "smpl") -> BodyModelData:
    """Build BodyModelData from SMPL-keyed arrays (chumpy/sparse stubs allowed); raises ModelFileError."""
    joints = _joint_count(d)
    if joints is not None and joints != NUM_JOINTS:
        kind = _OTHER_KINDS.get(joints, f"a model with {joints} joints")
        raise ModelFileError(f"{name} is {kind}, not an SMPL body. {_NEED}")
    missing = [k for k in SMPL_KEYS if k not in d]
    if missing:
        raise ModelFileError(f"{name} lacks {', '.join(missing)}: it is not an SMPL model file. {_NEED}")
    arrays = {key: _numeric(d[key], key, name) for key in SMPL_KEYS + ("vt", "ft") if key in d}
    if ("vt" in arrays) != ("ft" in arrays):
        arrays.pop("vt", None), arrays.pop("ft", None)  # UVs need both halves
    extras = {}
    if "extra_vertex_names" in d and "extra_vertex_ids" in d:
        names, ids = np.atleast_1d(d["extra_vertex_names"]), np.atleast_1d(d["extra_vertex_ids"])
        if names.ndim != 1 or len(names) != len(ids) or ids.dtype.kind not in "iu" or names.dtype.kind not in "SU":
            raise ModelFileError(f"{name}: extra_vertex_names/extra_vertex_ids must be names and vertex numbers "
                                 "of the same length; re-export the model")
        extras = {str(n): int(i) for n, i in zip(names, ids)}
    elif np.shape(arrays["v_template"])[:1] == (SMPL_NUM_VERTICES,):
        extras = dict(SMPL_EXTRA_VERTEX_IDS)  # the official topology: the usual landmark vertices
    metadata = {}
    if "metadata_json" in d:
        try:
            metadata = json.loads(_text(d["metadata_json"], "{}"))
        except (ValueError, RecursionError):
            metadata = None
        if not isinstance(metadata, dict):
            raise ModelFileError(f"{name}: its metadata_json is not a JSON object; re-export the model")
    return BodyModelData(
        **arrays, extra_vertex_ids=extras, name=_text(d.get("name"), name),
        gender=_text(d.get("gender"), _guess_gender(name)), metadata=metadata,
    )


def load_body_model(path) -> BodyModelData:
    """Read an SMPL-format model (.pkl official/plain, or .npz) safely; raises ModelFileError with the reason."""
    path = Path(path).expanduser()
    if not path.is_file():
        where = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise ModelFileError(f"body model file {path} {where}; give an SMPL .pkl/.npz file, or use 'open'")
    try:
        size = path.stat().st_size
        if size > MAX_MODEL_FILE_BYTES:
            raise ModelFileError(f"body model file {path.name} is {size >> 20} MB, over the limit of "
                                 f"{MAX_MODEL_FILE_BYTES >> 20} MB (README, Limits); it is not an SMPL model file")
        raw = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"cannot read body model file {path}: {exc.strerror}") from None
    if not raw:
        raise ModelFileError(f"body model file {path} is empty")
    try:
        d = _read_npz(raw) if raw[:2] == b"PK" else _read_pickle(raw)
    except ModelFileError as exc:
        raise ModelFileError(f"{path.name}: {exc}") from None
    except ValueError as exc:
        if "allow_pickle" in str(exc):  # an .npz member holding Python objects: never unpickled
            raise ModelFileError(f"{path.name} holds Python objects, not plain arrays; refusing to load it") from None
        raise ModelFileError(f"body model file {path.name} is truncated or corrupt ({exc}); download it again") \
            from None
    except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, TypeError, KeyError, IndexError,
            AttributeError, UnicodeDecodeError, OverflowError, MemoryError, RecursionError) as exc:
        kind = "npz" if raw[:2] == b"PK" else "pickle"
        raise ModelFileError(
            f"body model file {path.name} is truncated or corrupt (not a readable {kind}: {type(exc).__name__}); "
            "download it again"
        ) from None
    try:
        return body_model_from_dict(d, name=path.stem)
    except ModelFileError as exc:  # the file's own name, whatever name the model carries inside
        if path.name in str(exc):
            raise
        raise ModelFileError(f"{path.name}: {exc}") from None


def file_arrays(data: BodyModelData) -> dict:
    """The file dictionary: SMPL keys (smplx's layout) plus our extras, all plain numpy."""
    out = {k: np.asarray(v) for k, v in data.to_smpl_dict().items()}
    out["kintree_table"] = out["kintree_table"].astype(np.int64)
    out["extra_vertex_names"] = np.array(list(data.extra_vertex_ids), dtype=str)
    out["extra_vertex_ids"] = np.array(list(data.extra_vertex_ids.values()), dtype=np.int64)
    out["name"] = np.array(data.name)
    out["gender"] = np.array(data.gender)
    if data.metadata:
        out["metadata_json"] = np.array(json.dumps(data.metadata))
    return out


def read_npz_metadata(path) -> dict:
    """The `metadata` stored in one of our .npz files, without loading its arrays ({} when it has none)."""
    with np.load(path, allow_pickle=False) as z:
        return json.loads(str(z["metadata_json"])) if "metadata_json" in z.files else {}


def save_body_model(data: BodyModelData, path) -> Path:
    """Write `data` as a compressed .npz or as a .pkl of plain numpy arrays that smplx.SMPL reads; atomic.
    Only the .npz keeps `data.metadata`."""
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".pkl"):
        raise ModelFileError(f"cannot write {path.name}: a body model is saved as .npz or .pkl")
    arrays = file_arrays(data)
    if suffix == ".npz":
        atomic_write_npz(path, arrays)  # compressed: posedirs are often all zero, tens of MB → a few
        return path
    arrays.pop("metadata_json", None)
    arrays["name"], arrays["gender"] = data.name, data.gender  # plain str: what smplx expects
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        pickle.dump(arrays, fh, protocol=4)
    return path
