"""Safe SMPL file loading: official-style chumpy pickles (made here without chumpy), .npz, our own files,
smplx reading what we write, malicious pickles refused, and clear errors for wrong files."""

from __future__ import annotations

import io
import pickle
import struct
import sys
import types

import numpy as np
import pytest
import scipy.sparse as sp

from inference.body import tiny_model
from inference.body.smpl_io import load_body_model, save_body_model
from inference.errors import ModelFileError

SMPL_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")


def _assert_same_model(a, b):
    for key in SMPL_KEYS + ("vt", "ft"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)


# --- a stand-in for the official files: the globals they name, without chumpy -----------------------------

@pytest.fixture
def official_modules(monkeypatch):
    """Register stand-in modules `chumpy.ch` (class Ch) and `scipy.sparse.csc` (class csc_matrix) so that a
    pickle made here names exactly the globals of SMPL v1.0/1.1 files. Returns (Ch, csc_matrix) factories."""
    chumpy = types.ModuleType("chumpy")
    ch = types.ModuleType("chumpy.ch")

    class Ch:  # chumpy pickles its __dict__ minus the weak caches (ch.py __getstate__)
        def __init__(self, x):
            self.__dict__.update(x=np.asarray(x, np.float64), _dirty_vars=set(), _itr=None,
                                 _depends_on_deps={}, _make_dense=False, _make_sparse=False)

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    ch.Ch, chumpy.ch = Ch, ch

    csc_mod = types.ModuleType("scipy.sparse.csc")

    class csc_matrix:  # carries the __dict__ of a real scipy csc matrix, as the default pickling writes it
        def __init__(self, dense):
            self.__dict__.update(sp.csc_matrix(dense).__dict__)

    csc_matrix.__module__, csc_matrix.__qualname__ = "scipy.sparse.csc", "csc_matrix"
    csc_mod.csc_matrix = csc_matrix
    monkeypatch.setitem(sys.modules, "chumpy", chumpy)
    monkeypatch.setitem(sys.modules, "chumpy.ch", ch)
    monkeypatch.setitem(sys.modules, "scipy.sparse.csc", csc_mod)
    return Ch, csc_matrix


def _official_dict(data, Ch, csc_matrix):
    """The layout of basicModel_*.pkl / SMPL_*.pkl: chumpy arrays, sparse regressor, uint32 kintree."""
    return {
        "v_template": Ch(data.v_template), "shapedirs": Ch(data.shapedirs), "posedirs": data.posedirs,
        "J_regressor": csc_matrix(data.J_regressor), "weights": Ch(data.weights),
        "kintree_table": np.where(data.kintree_table < 0, 2**32 - 1, data.kintree_table).astype(np.uint32),
        "f": data.f.astype(np.uint32), "J": Ch(data.J_regressor @ data.v_template),
        "bs_style": "lbs", "bs_type": "lrotmin", "vert_sym_idxs": np.arange(data.num_vertices),
        "weights_prior": Ch(data.weights), "pose_training_info": {"num_subjects": 1},
    }


class _Py2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 `str` (BINSTRING opcodes), as the official files store numpy's raw data."""

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_py2_str(self, obj):
        n = len(obj)
        head = pickle.SHORT_BINSTRING + bytes([n]) if n < 256 else pickle.BINSTRING + struct.pack("<i", n)
        self.write(head + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str


def _py2_dumps(obj) -> bytes:
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


@pytest.mark.parametrize("protocol", [0, 2])
def test_official_style_pickle_loads_without_chumpy(tmp_path, official_modules, protocol):
    data = tiny_model(pose_correctives=True)
    path = tmp_path / "basicModel_f_lbs_10_207_0_v1.0.0.pkl"
    d = _official_dict(data, *official_modules)
    path.write_bytes(_py2_dumps(d) if protocol == 2 else pickle.dumps(d, protocol=0))
    raw = path.read_bytes()
    assert b"chumpy.ch" in raw and b"scipy.sparse.csc" in raw  # really names the official globals
    assert (b"copy_reg" in raw) == (protocol == 0)  # protocol 0 rebuilds objects via copy_reg._reconstructor
    assert (b"_codecs" in raw) == (protocol == 0)  # protocol 2 here: raw array data as Python 2 str
    sys.modules.pop("chumpy.ch"), sys.modules.pop("chumpy")  # loading must not need them
    loaded = load_body_model(path)
    np.testing.assert_array_equal(loaded.v_template, data.v_template)
    np.testing.assert_array_equal(loaded.shapedirs, data.shapedirs)
    np.testing.assert_array_equal(loaded.posedirs, data.posedirs)
    np.testing.assert_allclose(loaded.J_regressor, data.J_regressor, rtol=0, atol=0)
    np.testing.assert_array_equal(loaded.weights, data.weights)
    np.testing.assert_array_equal(loaded.parents, data.parents)
    np.testing.assert_array_equal(loaded.f, data.f)
    assert loaded.gender == "female"  # from the official file name
    assert "chumpy" not in sys.modules


def test_official_style_npz(tmp_path):
    data = tiny_model(pose_correctives=True)
    d = data.to_smpl_dict()
    path = tmp_path / "SMPL_MALE.npz"
    np.savez(path, **{k: d[k] for k in SMPL_KEYS})
    loaded = load_body_model(path)
    data.vt = data.ft = None  # official files carry no UVs
    _assert_same_model(loaded, data)
    assert loaded.vt is None
    assert loaded.gender == "male" and loaded.name == "SMPL_MALE"


@pytest.mark.parametrize("suffix", [".npz", ".pkl"])
def test_save_and_load_round_trip(tmp_path, suffix):
    data = tiny_model(num_betas=7, pose_correctives=True, seed=3)
    data.gender, data.extra_vertex_ids = "female", {"nose": 130, "left_heel": 60}
    path = save_body_model(data, tmp_path / f"model{suffix}")
    assert path.exists() and not list(tmp_path.glob(".model*"))  # no temporary left behind
    loaded = load_body_model(path)
    _assert_same_model(loaded, data)
    assert loaded.extra_vertex_ids == {"nose": 130, "left_heel": 60}
    assert (loaded.name, loaded.gender, loaded.num_betas) == ("tiny", "female", 7)


def test_saved_pkl_is_plain_numpy(tmp_path):
    """Our .pkl must load with the plain pickle module and name nothing but numpy (no chumpy, no stubs)."""
    import pickletools

    path = save_body_model(tiny_model(), tmp_path / "m.pkl")
    globals_named = {arg for op, arg, _ in pickletools.genops(path.read_bytes())
                     if op.name in ("GLOBAL", "STACK_GLOBAL") and arg}
    named = {str(a) for a in globals_named}
    assert all(n.startswith("numpy") for n in named), named
    with open(path, "rb") as fh:
        d = pickle.load(fh, encoding="latin1")
    assert set(SMPL_KEYS) <= set(d) and all(isinstance(d[k], np.ndarray) for k in SMPL_KEYS)


# --- smplx reads what we write and computes what we compute -------------------------------------------------

_SMPLX_EXTRA_KEYS = ("nose", "reye", "leye", "rear", "lear", "rthumb", "rindex", "rmiddle", "rring", "rpinky",
                     "lthumb", "lindex", "lmiddle", "lring", "lpinky", "LBigToe", "LSmallToe", "LHeel",
                     "RBigToe", "RSmallToe", "RHeel")


@pytest.fixture(scope="module")
def saved_tiny(tmp_path_factory):
    data = tiny_model(pose_correctives=True)
    # smplx reads model arrays through float32 (its to_np), even for dtype=float64: put ours on that grid
    # so that float64 can be compared exactly.
    for key in ("v_template", "shapedirs", "posedirs", "J_regressor", "weights"):
        setattr(data, key, getattr(data, key).astype(np.float32).astype(np.float64))
    return data, save_body_model(data, tmp_path_factory.mktemp("smplx") / "SMPL_NEUTRAL.pkl")


@pytest.mark.parametrize("dtype_name, as_matrices, tol", [
    ("float32", False, 1e-5),
    # smplx's batch_rodrigues adds 1e-8 to the axis-angle before its norm, so in float64 the exact
    # comparison feeds both models the same rotation matrices (scipy's), and axis-angle agrees to 1e-6.
    ("float64", True, 1e-10),
    ("float64", False, 1e-6),
])
def test_smplx_reads_our_pkl_and_agrees(saved_tiny, dtype_name, as_matrices, tol):
    import smplx
    import torch
    from scipy.spatial.transform import Rotation

    from inference.body import BodyModel

    data, path = saved_tiny
    dtype = getattr(torch, dtype_name)
    vertex_ids = {k: i * 7 % data.num_vertices for i, k in enumerate(_SMPLX_EXTRA_KEYS)}  # valid on tiny
    ref = smplx.SMPL(model_path=str(path), vertex_ids=vertex_ids, num_betas=10, dtype=dtype)
    ours = BodyModel(data, dtype=dtype)
    rng = np.random.default_rng(0)
    n = 10
    aa = 0.6 * rng.standard_normal((n, 24, 3))
    betas = torch.as_tensor(rng.standard_normal((n, 10)), dtype=dtype)
    transl = torch.as_tensor(rng.standard_normal((n, 3)), dtype=dtype)
    if as_matrices:
        pose = torch.as_tensor(Rotation.from_rotvec(aa.reshape(-1, 3)).as_matrix().reshape(n, 24, 3, 3),
                               dtype=dtype)
        kw = dict(global_orient=pose[:, :1], body_pose=pose[:, 1:], pose2rot=False)
    else:
        pose = torch.as_tensor(aa, dtype=dtype)
        kw = dict(global_orient=pose[:, 0], body_pose=pose[:, 1:].reshape(n, 69))
    with torch.no_grad():
        out_ref = ref(betas=betas, transl=transl, **kw)
        out = ours.forward(pose, betas, transl)
    assert out.vertices.dtype == dtype
    torch.testing.assert_close(out.vertices, out_ref.vertices, rtol=0, atol=tol)
    torch.testing.assert_close(out.joints[:, :24], out_ref.joints[:, :24], rtol=0, atol=tol)
    assert (out.vertices - ours.v_template).abs().max() > 0.05  # the poses really moved the body


# --- malicious pickles --------------------------------------------------------------------------------------

def _payloads(marker):
    """Pickles naming os.system, builtins.eval and subprocess.Popen, each of which would create `marker`."""
    m = str(marker)
    return {
        "os.system": f"cos\nsystem\n(S'touch {m}'\ntR.".encode(),
        "builtins.eval": f"cbuiltins\neval\n(S\"open('{m}', 'w').close()\"\ntR.".encode(),
        "subprocess.Popen": f"csubprocess\nPopen\n((lp0\nS'touch'\naS'{m}'\natR.".encode(),
    }


class _Evil:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


@pytest.mark.parametrize("name", ["os.system", "builtins.eval", "subprocess.Popen"])
def test_malicious_pickle_refused_before_running(tmp_path, name):
    marker = tmp_path / "pwned"
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    path.write_bytes(_payloads(marker)[name])
    with pytest.raises(ModelFileError, match=name.replace(".", r"\.")) as exc:
        load_body_model(path)
    assert "refusing" in str(exc.value)
    assert not marker.exists()


def test_payload_hidden_inside_a_valid_model_is_refused(tmp_path):
    import os

    marker = tmp_path / "pwned"
    d = tiny_model().to_smpl_dict()
    d["bs_style"] = _Evil(os.system, (f"touch {marker}",))  # pickled as posix.system
    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps(d, protocol=2))
    with pytest.raises(ModelFileError, match="system"):
        load_body_model(path)
    assert not marker.exists()


def test_codec_other_than_latin1_refused(tmp_path):
    path = tmp_path / "m.pkl"
    path.write_bytes(b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x05\x00\x00\x00rot13\x86R.")
    with pytest.raises(ModelFileError, match="rot13"):
        load_body_model(path)


# --- wrong files --------------------------------------------------------------------------------------------

def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        load_body_model(tmp_path / "nope.pkl")
    with pytest.raises(ModelFileError, match="folder"):
        load_body_model(tmp_path)


@pytest.mark.parametrize("suffix", [".pkl", ".npz"])
def test_truncated_file(tmp_path, suffix):
    full = save_body_model(tiny_model(), tmp_path / f"full{suffix}").read_bytes()
    for cut in (len(full) // 2, len(full) - 3, 5):
        path = tmp_path / f"cut{suffix}"
        path.write_bytes(full[:cut])
        with pytest.raises(ModelFileError, match="truncated or corrupt"):
            load_body_model(path)


def test_garbage_and_empty_files(tmp_path):
    (tmp_path / "g.pkl").write_bytes(b"this is not a model\n" * 20)
    with pytest.raises(ModelFileError, match="truncated or corrupt|refusing"):
        load_body_model(tmp_path / "g.pkl")
    (tmp_path / "e.pkl").write_bytes(b"")
    with pytest.raises(ModelFileError, match="empty"):
        load_body_model(tmp_path / "e.pkl")
    (tmp_path / "l.pkl").write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(ModelFileError, match="not the dictionary"):
        load_body_model(tmp_path / "l.pkl")


def _family_model(joints, verts, pose_basis, extra=None):
    rng = np.random.default_rng(0)
    parents = np.r_[2**32 - 1, np.zeros(joints - 1)].astype(np.uint32)
    d = {"v_template": rng.random((verts, 3)), "shapedirs": rng.random((verts, 3, 10)),
         "posedirs": np.zeros((verts, 3, pose_basis)), "J_regressor": sp.csc_matrix(np.eye(joints, verts)),
         "weights": np.full((verts, joints), 1 / joints), "kintree_table": np.stack([parents, np.arange(joints)]),
         "f": np.array([[0, 1, 2]])}
    d.update(extra or {})
    return d


@pytest.mark.parametrize("joints, verts, basis, words", [
    (16, 778, 135, "MANO hand model"),
    (55, 10475, 486, "SMPL-X model"),
    (52, 6890, 459, "SMPL-H"),
    (5, 5023, 36, "FLAME head model"),
])
def test_other_model_kinds_named(tmp_path, joints, verts, basis, words):
    path = tmp_path / "model.npz"
    d = _family_model(joints, min(verts, 500), basis)  # the joint count tells the kind; keep the file small
    d["J_regressor"] = d["J_regressor"].toarray()
    np.savez(path, **d)
    with pytest.raises(ModelFileError, match=words) as exc:
        load_body_model(path)
    assert "24 joints" in str(exc.value)


def test_mano_pickle_with_real_sparse_class_named(tmp_path):
    """A MANO-like pickle made with today's scipy (scipy.sparse._csc path) is read and then named MANO."""
    path = tmp_path / "MANO_RIGHT.pkl"
    path.write_bytes(pickle.dumps(_family_model(16, 778, 135, {"hands_components": np.eye(45)}), protocol=2))
    assert b"scipy.sparse._csc" in path.read_bytes()
    with pytest.raises(ModelFileError, match="MANO"):
        load_body_model(path)


def test_wrong_shapes_and_missing_keys(tmp_path):
    d = tiny_model().to_smpl_dict()
    np.savez(tmp_path / "short.npz", **{**d, "posedirs": d["posedirs"][:, :, :100]})
    with pytest.raises(ModelFileError, match="posedirs.*207"):
        load_body_model(tmp_path / "short.npz")
    np.savez(tmp_path / "noweights.npz", **{k: v for k, v in d.items() if k != "weights"})
    with pytest.raises(ModelFileError, match="lacks weights"):
        load_body_model(tmp_path / "noweights.npz")
    np.savez(tmp_path / "badw.npz", **{**d, "weights": d["weights"][:-1]})
    with pytest.raises(ModelFileError, match="weights"):
        load_body_model(tmp_path / "badw.npz")


def test_save_refuses_unknown_suffix(tmp_path):
    with pytest.raises(ModelFileError, match=".npz or .pkl"):
        save_body_model(tiny_model(), tmp_path / "m.obj")
    assert not list(tmp_path.iterdir())


def test_other_chumpy_classes_are_inert_and_refused_only_when_needed(tmp_path, official_modules, monkeypatch):
    """A chumpy expression (not a plain Ch) under an unused key loads as an inert stand-in; under a key we
    need it is refused with a message saying so."""
    Ch, csc_matrix = official_modules
    ops = types.ModuleType("chumpy.ch_ops")

    class add:  # noqa: N801 - the name chumpy pickles
        def __init__(self):
            self.a, self.b = "lhs", "rhs"

    add.__module__, add.__qualname__ = "chumpy.ch_ops", "add"
    ops.add = add
    monkeypatch.setitem(sys.modules, "chumpy.ch_ops", ops)
    data = tiny_model()
    d = _official_dict(data, Ch, csc_matrix)
    d["J"] = add()
    (tmp_path / "ok.pkl").write_bytes(_py2_dumps(d))
    np.testing.assert_array_equal(load_body_model(tmp_path / "ok.pkl").v_template, data.v_template)
    d["v_template"] = add()
    (tmp_path / "bad.pkl").write_bytes(_py2_dumps(d))
    with pytest.raises(ModelFileError, match="chumpy expression"):
        load_body_model(tmp_path / "bad.pkl")


def test_npz_with_python_objects_refused(tmp_path):
    d = tiny_model().to_smpl_dict()
    unused = np.array({"num_subjects": 1}, dtype=object)  # as np.savez stores a dict from an official pickle
    np.savez(tmp_path / "unused.npz", **{**d, "pose_training_info": unused})
    np.testing.assert_array_equal(load_body_model(tmp_path / "unused.npz").f, d["f"])
    np.savez(tmp_path / "obj.npz", **{**d, "weights": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(ModelFileError, match="Python objects"):
        load_body_model(tmp_path / "obj.npz")


def test_official_topology_gets_the_standard_landmark_vertices():
    """A 6890-vertex SMPL file without stored extras gets smplx's face/feet vertex ids (nose 332, ...)."""
    from inference.body.smpl_io import SMPL_EXTRA_VERTEX_IDS, body_model_from_dict
    from inference.body.tiny import tiny_model

    t = tiny_model()
    reps = -(-6890 // t.num_vertices)
    v = np.tile(t.v_template, (reps, 1))[:6890]
    w = np.tile(t.weights, (reps, 1))[:6890]
    d = {"v_template": v, "shapedirs": np.zeros((6890, 3, 10)), "posedirs": np.zeros((6890, 3, 207)),
         "J_regressor": np.full((24, 6890), 1 / 6890), "weights": w, "kintree_table": t.kintree_table, "f": t.f}
    data = body_model_from_dict(d, name="SMPL_NEUTRAL")
    assert data.extra_vertex_ids["nose"] == 332 and data.extra_vertex_ids["right_heel"] == 6787
    assert set(data.extra_vertex_ids) == set(SMPL_EXTRA_VERTEX_IDS)
    assert body_model_from_dict({**d, "v_template": v[:6889], "weights": w[:6889],
                                 "shapedirs": np.zeros((6889, 3, 10)), "posedirs": np.zeros((6889, 3, 207)),
                                 "J_regressor": np.full((24, 6889), 1 / 6889)}).extra_vertex_ids == {}
