"""Motion files: AMASS-style `.npz` and Meshcapade's `.smpl`, read into and written from `MotionFit`.

`save_motion(motion, path)` and `load_motion(path)` choose the format by extension.

Our `.npz` (AMASS's key names, so AMASS tools read it):
    poses [T,72] float64      SMPL axis-angles, 24 joints x 3, radians
    trans [T,3] float64       root translation, metres
    betas [K] float64         shape coefficients
    gender str                "neutral" | "male" | "female"
    mocap_framerate float64   frames per second (29.97 stays 29.97)
    detected [T] bool, filled [T] bool, body_model str     (ours)
    bodyrig_metadata str      JSON: units, frame, up axis, rest pelvis, format version, and MotionFit.metadata
    camera_rotation [T,3,3], camera_position [T,3] float64   (ours, when the motion has a camera path) the video
                              camera's camera-to-world rotation and centre per frame, in the file's frame (Z up,
                              turned with the motion); its intrinsics and video in bodyrig_metadata["camera"]
                              {"fx","fy","cx","cy","width","height","video"} (inference.camera.CameraPath)
Our files are in AMASS's own frame (format version 2): Z up, the floor the XY plane, `poses[:, :3]` (root
orientation) and `trans` in that frame, so AMASS tools and the SMPL-X Blender add-on show the body standing.
Saving turns the Y-up world motion by Y_UP_TO_Z_UP (inference.conventions); an exact turn needs the shaped
body's rest pelvis (see below), taken from metadata["rest_pelvis"] (set by the video fit and the Blender
export), else from the motion's body (`body_model`: open, tiny or a model file; the open body when that cannot
be loaded, noted in the metadata), and stored in the metadata as "rest_pelvis". The metadata's "up_axis" says
which frame a file of ours is in: "z" (these files; read back into the world frame with the stored rest
pelvis), "y" or absent (files written before version 2, in the Y-up world frame: read as they are). A motion
still in AMASS's frame (metadata["frame"] == "amass_z_up", not yet turned) is written as it is.

Reading is tolerant of real AMASS files:
- `poses` [T,156] (SMPL-H: 52 joints = 22 body + 2 x 15 finger joints) or [T,165] (SMPL-X: 22 body + jaw + 2
  eyes + 30 finger joints): the first 22 joints are SMPL's first 22 (same names and tree). SMPL's joints 22 and
  23 (left_hand, right_hand) have no counterpart there (SMPL-H's next joints are finger joints), so they are set
  to zero rotation. Files that carry `root_orient` [T,3] + `pose_body` [T,63] instead of `poses` work too.
- `mocap_framerate` or `mocap_frame_rate`; `gender` as str or bytes; any number of betas (kept as given).
- AMASS is Z up. Its files are recognised by having no `bodyrig_metadata`; `load_motion(path, rest_pelvis=...)`
  turns them into our Y-up world frame. Rotating a body about the world origin moves its translation by an
  amount that depends on the shaped body's rest pelvis (see results.reframe), so the exact turn needs it; without
  it the motion is returned in AMASS's own frame with metadata["frame"] == "amass_z_up", to be turned later by
  `amass_to_world(motion, rest_pelvis)`.

Reading checks the limits of inference.limits first (frame count and array sizes from the zip directory and the
.npy headers, before anything is inflated), then refuses text, complex, NaN/inf and absurd numbers by name.
Every unusable file is one BadInputError naming the file.

`.smpl` (smplcodec): a flat npz of float32/int32 written and read by the `smplcodec` package. It holds pose,
translation, betas, gender, frame rate and count only (Meshcapade's reader rejects extra keys), so `detected`,
`filled` and `body_model` are not kept. It is written and read Y up, as the world frame: smplcodec converts no
axes (its AMASS reader copies Z-up `trans` as it is) and its bodies live in glTF scenes (.mcs), which are Y up. float32 frame rates are read
back at float32's shortest decimal (29.97 → 29.97).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from .conventions import Y_UP_TO_Z_UP, Z_UP_TO_Y_UP  # AMASS's Z-up mocap frame ↔ our Y-up world frame
from .errors import BadInputError, BodyRigError, ModelFileError
from .limits import MAX_ANGLE_RAD, MAX_TRANSLATION_M, check_finite, check_fps, check_frames, npz_members
from .results import MotionFit

FORMAT_VERSION = 2  # 2: written Z up (AMASS's frame); 1: Y up (the world frame)
SUFFIXES = (".npz", ".smpl")
_BODY_JOINTS = 22  # joints shared by SMPL, SMPL-H and SMPL-X (pelvis .. right_wrist)
_GENDERS = ("neutral", "male", "female")


def _suffix(path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise BadInputError(f"{Path(path).name}: unknown motion file type {suffix or '(none)'}; "
                            f"use one of {', '.join(SUFFIXES)}")
    return suffix


def save_motion(motion: MotionFit, path) -> Path:
    """Write `motion` to `path` (.npz or .smpl by extension), atomically. Returns the path."""
    suffix = _suffix(path)
    if motion.gender not in _GENDERS:
        raise BadInputError(f"gender {motion.gender!r} is not one of {', '.join(_GENDERS)}")
    if suffix == ".npz":
        _save_npz(motion, path)
    else:
        _save_smpl(motion, path)
    return Path(path)


def load_motion(path, rest_pelvis=None) -> MotionFit:
    """Read a motion file (.npz ours or AMASS's, or .smpl) into a MotionFit.

    rest_pelvis [3]: the shaped body's rest pelvis, used only to turn a Z-up AMASS file into our Y-up world
    frame exactly (see the module docstring). Raises BadInputError on unreadable or malformed files.
    """
    path = Path(path)
    suffix = _suffix(path)
    if not path.is_file():
        raise BadInputError(f"motion file not found: {path}")
    motion = _load_npz(path) if suffix == ".npz" else _load_smpl(path)
    if motion.metadata.get("frame") == "amass_z_up" and rest_pelvis is not None:
        motion = amass_to_world(motion, rest_pelvis)
    return motion


def amass_to_world(motion: MotionFit, rest_pelvis) -> MotionFit:
    """Turn a motion from AMASS's Z-up frame into our Y-up world frame. rest_pelvis [3] (metres)."""
    from .results import reframe

    pose, transl = reframe(motion.pose, motion.transl, rest_pelvis, rotation=Z_UP_TO_Y_UP)
    meta = dict(motion.metadata, frame="world", rest_pelvis=np.asarray(rest_pelvis, dtype=np.float64).tolist())
    camera = motion.camera.turned(Z_UP_TO_Y_UP) if motion.camera is not None else None
    return MotionFit(pose=pose, transl=transl, betas=motion.betas, fps=motion.fps, detected=motion.detected,
                     filled=motion.filled, body_model=motion.body_model, gender=motion.gender, metadata=meta,
                     camera=camera)


# ---------------------------------------------------------------------------------------------------- .npz

def stored_rest_pelvis(meta: dict):
    """metadata["rest_pelvis"] as [3] float64, or None when absent or not three finite numbers."""
    try:
        value = np.asarray(meta.get("rest_pelvis"), dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return value if value.shape == (3,) and np.isfinite(value).all() and np.abs(value).max() < 10 else None


def motion_rest_pelvis(motion: MotionFit) -> tuple[np.ndarray, str | None]:
    """The shaped body's rest pelvis [3] for `motion` (body frame, metres) → (pelvis, note or None): the stored
    one, else its body's (`body_model`) with its betas, else the open body's (the note says so)."""
    stored = stored_rest_pelvis(motion.metadata)
    if stored is not None:
        return stored, None
    from .body.load import load_body

    note = None
    try:
        data = load_body(motion.body_model)
    except ModelFileError:  # a body named by a file that is gone, or "smpl" from a .smpl file
        data = load_body(None)
        note = f"rest pelvis of the open body (the motion's body {motion.body_model!r} could not be loaded)"
    return np.asarray(data.shaped(motion.betas[: data.num_betas])[1][0], dtype=np.float64), note


def _metadata(motion: MotionFit) -> dict:
    meta = {"units": "metres, radians; poses are SMPL axis-angles [T,24*3]",
            "format": "bodyrig-motion"}
    meta.update(motion.metadata)
    meta.update({"frame": "amass_z_up", "up_axis": "z", "version": FORMAT_VERSION,
                 "frame_definition": "AMASS's: Z up, floor = the XY plane, poses[:, :3] and trans in that frame "
                                     "(BodyRig's Y-up world turned +90 degrees about X)"})
    return meta


def _save_npz(motion: MotionFit, path) -> None:
    from .fileio import atomic_write_npz
    from .results import reframe

    meta = _metadata(motion)
    if motion.camera is not None:
        meta["camera"] = dict(motion.camera.intrinsics.as_dict(), video=motion.camera.video)
    else:
        meta.pop("camera", None)
    pose, transl, camera = motion.pose, motion.transl, motion.camera
    if motion.metadata.get("frame", "world") != "amass_z_up":  # the world frame (Y up): turn it to Z up
        pelvis, note = motion_rest_pelvis(motion)
        pose, transl = reframe(pose, transl, pelvis, rotation=Y_UP_TO_Z_UP)
        camera = camera.turned(Y_UP_TO_Z_UP) if camera is not None else None
        meta["rest_pelvis"] = pelvis.tolist()
        if note:
            meta["notes"] = (list(meta["notes"]) if isinstance(meta.get("notes"), list) else []) + [note]
    arrays = {
        "poses": pose.reshape(motion.num_frames, -1).astype(np.float64),
        "trans": transl.astype(np.float64),
        "betas": motion.betas.astype(np.float64),
        "gender": np.array(motion.gender),
        "mocap_framerate": np.array(float(motion.fps), dtype=np.float64),
        "detected": motion.detected.astype(bool),
        "filled": motion.filled.astype(bool),
        "body_model": np.array(motion.body_model),
        "bodyrig_metadata": np.array(json.dumps(meta)),
    }
    if camera is not None:
        arrays["camera_rotation"] = camera.rotation.astype(np.float64)
        arrays["camera_position"] = camera.position.astype(np.float64)
    atomic_write_npz(path, arrays)


def _text(value, name: str = "", key: str = "") -> str:
    value = np.asarray(value)
    if value.size != 1 or value.dtype.kind not in "SUiufb":
        raise BadInputError(f"{name}: '{key}' must be one piece of text, got {value.dtype} of shape {value.shape}")
    item = value.reshape(()).item()
    return item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)


# Members read from a motion .npz (anything else in it is never inflated), and those with one row per frame.
_NPZ_KEYS = ("poses", "root_orient", "pose_body", "trans", "betas", "gender", "mocap_framerate",
             "mocap_frame_rate", "detected", "filled", "body_model", "bodyrig_metadata", "surface_model_type",
             "camera_rotation", "camera_position")
_FRAME_KEYS = ("poses", "root_orient", "pose_body", "trans", "detected", "filled", "camera_rotation",
               "camera_position")


def _check_frames(members: dict, name: str, keys) -> None:
    """The frame limit on the leading dimension of every per-frame array, from the .npy headers."""
    for key in keys:
        if key in members and members[key].shape:
            check_frames(members[key].shape[0], name)


def _open_npz(path: Path) -> dict:
    """The motion's members, after the zip directory and the .npy headers were checked against the limits
    (inference.limits): a file claiming too many frames or too large an array is refused before any of it is
    inflated."""
    npz_members(path, path.name, check=lambda members: _check_frames(members, path.name, _FRAME_KEYS))
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files if k in _NPZ_KEYS}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise BadInputError(f"{path.name} is not a readable .npz motion file ({str(e)[:160]}); "
                            "it may be truncated or of another kind") from None


def _numbers(values, name: str, key: str, bound: float | None = None) -> np.ndarray:
    """values as float64 after refusing text, complex and non-finite numbers (and magnitudes over `bound`)."""
    check_finite(f"'{key}'", values, what=f"{name}: ", bound=bound)
    return np.asarray(values, dtype=np.float64)


def _body_pose(poses, name: str, key: str = "poses") -> tuple[np.ndarray, str | None]:
    """poses [T,D] (D = 72 SMPL, or >= 66 with the 22 body joints first) → ([T,24,3], note or None)."""
    poses = _numbers(poses, name, key, bound=MAX_ANGLE_RAD)
    if poses.ndim == 3 and poses.shape[-1] == 3:
        poses = poses.reshape(len(poses), -1)
    if poses.ndim != 2 or poses.shape[1] % 3 or poses.shape[1] < 3 * _BODY_JOINTS:
        raise BadInputError(f"{name}: poses have shape {poses.shape}; expected [frames, 72] (SMPL) or "
                            "[frames, 156/165] (AMASS SMPL-H/SMPL-X axis-angles)")
    if poses.shape[1] == 72:
        return poses.reshape(-1, 24, 3), None
    out = np.zeros((len(poses), 24, 3))
    out[:, :_BODY_JOINTS] = poses[:, :3 * _BODY_JOINTS].reshape(-1, _BODY_JOINTS, 3)
    return out, (f"poses had {poses.shape[1] // 3} joints: kept the 22 body joints, "
                 "set SMPL's left_hand/right_hand to zero rotation")


def _split_pose(d: dict, name: str) -> np.ndarray:
    """AMASS's root_orient [T,3] + pose_body [T,63] as one [T,66] array."""
    root, body = np.asarray(d["root_orient"]), np.asarray(d["pose_body"])
    if root.ndim != 2 or root.shape[1] != 3 or body.ndim != 2 or len(body) != len(root):
        raise BadInputError(f"{name}: root_orient {root.shape} and pose_body {body.shape} do not match; "
                            "expected [frames, 3] and [frames, 63] with the same number of frames")
    return np.concatenate([_numbers(root, name, "root_orient"), _numbers(body, name, "pose_body")], axis=-1)


def _load_npz(path: Path) -> MotionFit:
    d = _open_npz(path)
    name = path.name
    if "poses" in d:
        pose, note = _body_pose(d["poses"], name)
    elif "root_orient" in d and "pose_body" in d:
        pose, note = _body_pose(_split_pose(d, name), name, "root_orient/pose_body")
    else:
        raise BadInputError(f"{name} has no 'poses' array: not an AMASS-style motion file "
                            f"(keys: {', '.join(sorted(d)) or 'none'})")
    t = len(pose)
    if t == 0:
        raise BadInputError(f"{name} holds no frames")
    fps_key = next((k for k in ("mocap_framerate", "mocap_frame_rate") if k in d), None)
    if fps_key is None:
        raise BadInputError(f"{name} has no frame rate (mocap_framerate)")
    fps = check_fps(d[fps_key], name)
    trans = _numbers(d["trans"], name, "trans", bound=MAX_TRANSLATION_M) if "trans" in d else np.zeros((t, 3))
    if trans.shape != (t, 3):
        raise BadInputError(f"{name}: trans has shape {trans.shape}, expected ({t}, 3) to match the poses")
    betas = _numbers(d["betas"], name, "betas").reshape(-1) if "betas" in d else np.zeros(10)
    gender = _text(d["gender"], name, "gender").strip().lower() if "gender" in d else "neutral"
    if gender not in _GENDERS:
        raise BadInputError(f"{name}: gender {gender!r} is not one of {', '.join(_GENDERS)}")

    ours = "bodyrig_metadata" in d
    if ours:
        try:
            meta = json.loads(_text(d["bodyrig_metadata"], name, "bodyrig_metadata"))
        except (json.JSONDecodeError, RecursionError) as e:
            raise BadInputError(f"{name}: bodyrig_metadata is not valid JSON ({str(e)[:120]})") from None
        if not isinstance(meta, dict):
            raise BadInputError(f"{name}: bodyrig_metadata must be a JSON object, got {type(meta).__name__}")
        up = meta.get("up_axis", "y")  # absent: a file from before version 2, in the Y-up world frame
        if up not in ("y", "z"):
            raise BadInputError(f"{name}: bodyrig_metadata's up_axis is {up!r}, expected \"z\" or \"y\"")
        if up == "z":
            meta["frame"] = "amass_z_up"  # turned below with the stored rest pelvis, or later by the caller
        else:
            meta["frame"] = "world"
        meta.pop("up_axis", None)
    else:
        meta = {"frame": "amass_z_up", "source": "AMASS-style file"}
        if "surface_model_type" in d:
            meta["surface_model_type"] = _text(d["surface_model_type"], name, "surface_model_type")
    if note:
        old = meta.get("notes")
        meta["notes"] = (list(old) if isinstance(old, list) else []) + [note]
    flags = {}
    for key in ("detected", "filled"):
        if key in d:
            arr = np.asarray(d[key])
            if arr.shape != (t,) or arr.dtype.kind not in "biu":
                raise BadInputError(f"{name}: {key} is {arr.dtype} of shape {arr.shape}, expected {t} booleans")
            flags[key] = arr.astype(bool)
    body_model = _text(d["body_model"], name, "body_model") if "body_model" in d else ("open" if ours else "smpl")
    camera = _camera_path(d, meta, t, name) if ours else None
    motion = MotionFit(pose=pose, transl=trans, betas=betas, fps=fps, detected=flags.get("detected"),
                       filled=flags.get("filled"), body_model=body_model, gender=gender, metadata=meta,
                       camera=camera)
    pelvis = stored_rest_pelvis(meta) if ours else None
    if meta["frame"] == "amass_z_up" and pelvis is not None:  # ours, Z up: back to the world frame exactly
        motion = amass_to_world(motion, pelvis)
    return motion


def _camera_path(d: dict, meta: dict, t: int, name: str):
    """The file's camera path (in the file's frame) from camera_rotation/camera_position and meta["camera"],
    or None when the file has none (the three must come together). The entry leaves the metadata."""
    from .camera import FIELDS, ROTATION_TOLERANCE, CameraPath, PinholeCamera

    info = meta.pop("camera") if isinstance(meta.get("camera"), dict) else None
    present = ["camera_rotation" in d, "camera_position" in d, isinstance(info, dict)]
    if not any(present):
        return None
    if not all(present):
        raise BadInputError(f"{name}: a camera path needs camera_rotation, camera_position and the metadata's "
                            "camera intrinsics together; the file has only part of them")
    rot = _numbers(d["camera_rotation"], name, "camera_rotation", bound=1.0 + ROTATION_TOLERANCE)
    pos = _numbers(d["camera_position"], name, "camera_position", bound=MAX_TRANSLATION_M)
    if rot.shape != (t, 3, 3) or pos.shape != (t, 3):
        raise BadInputError(f"{name}: camera_rotation {rot.shape} and camera_position {pos.shape} do not match "
                            f"the {t} frames (expected ({t}, 3, 3) and ({t}, 3))")
    try:
        k = PinholeCamera(**{f: float(info[f]) for f in FIELDS})
        video = info.get("video")
        return CameraPath(rot, pos, k, None if video is None else str(video))
    except (KeyError, TypeError, ValueError, BodyRigError) as e:
        raise BadInputError(f"{name}: the camera path is unusable ({str(e)[:160]})") from None


# ---------------------------------------------------------------------------------------------------- .smpl

def _save_smpl(motion: MotionFit, path) -> None:
    from smplcodec import SMPLCodec, SMPLGender, SMPLVersion

    from .fileio import atomic_path

    codec = SMPLCodec(
        smpl_version=SMPLVersion.SMPL, gender=SMPLGender.from_string(motion.gender),
        shape_parameters=motion.betas.astype(np.float64), frame_count=int(motion.num_frames),
        frame_rate=float(motion.fps), body_translation=motion.transl.astype(np.float64),
        body_pose=motion.pose.astype(np.float64),
    )
    with atomic_path(path) as tmp:
        codec.write(tmp)


def _load_smpl(path: Path) -> MotionFit:
    from smplcodec import SMPLCodec, SMPLVersion

    name = path.name
    # the limits first: smplcodec inflates every member
    npz_members(path, name, check=lambda members: _check_frames(members, name, ("bodyPose", "bodyTranslation")))
    try:
        codec = SMPLCodec.from_file(path)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, TypeError, KeyError, AssertionError) as e:
        raise BadInputError(f"{name} is not a readable .smpl file ({str(e)[:160] or type(e).__name__})") from None
    if codec.smpl_version not in (SMPLVersion.SMPL, SMPLVersion.SMPLH, SMPLVersion.SMPLX, SMPLVersion.SUPR,
                                  SMPLVersion.SMPLXS):
        raise BadInputError(f"{name}: {codec.smpl_version.name} bodies have no SMPL skeleton; "
                            "only SMPL, SMPL-H and SMPL-X .smpl files can be read")
    if codec.frame_count is not None and codec.frame_count < 1:
        raise BadInputError(f"{name} holds no frames (frameCount {codec.frame_count}); export at least one frame")
    t = codec.frame_count or 1  # no frameCount: one body, its pose or the rest pose
    check_frames(t, name)
    body = codec.body_pose if codec.body_pose is not None else np.zeros((t, 24, 3))
    try:
        body = np.asarray(body).reshape(t, -1)
    except ValueError:
        raise BadInputError(f"{name}: bodyPose has shape {np.shape(codec.body_pose)}, not {t} frames") from None
    pose, note = _body_pose(body, name, "bodyPose")
    transl = codec.body_translation if codec.body_translation is not None else np.zeros((t, 3))
    transl = _numbers(transl, name, "bodyTranslation", bound=MAX_TRANSLATION_M)
    betas = codec.shape_parameters if codec.shape_parameters is not None else np.zeros(10)
    betas = _numbers(betas, name, "shapeParameters")
    # float32 in the file: its shortest decimal gives back what was written (29.97, not 29.969999...).
    fps = 30.0
    if codec.frame_rate:  # 0 or absent: one body with no rate of its own
        fps = check_fps(codec.frame_rate, name)
        fps = float(str(np.float32(fps))) if isinstance(codec.frame_rate, float) else fps
    meta = {"frame": "world", "source": f".smpl ({codec.smpl_version.name})"}
    if note:
        meta["notes"] = [note]
    return MotionFit(pose=pose, transl=transl, betas=betas, fps=fps,
                     body_model="smpl", gender=codec.gender.name.lower(), metadata=meta)
