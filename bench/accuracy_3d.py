"""3D accuracy of the photo fit on rendered photos with known joints (scripts/render_photo_set.py).

Scored joints: hips, knees, ankles, shoulders, elbows, wrists (12). MPJPE: mean distance after moving both
skeletons' mid-hip (the mean of the two hips) onto each other, axes as given (camera frame; MediaPipe's world
landmarks have the camera's axes). PA-MPJPE: after the best similarity (inference.motion_metrics). Millimetres.

MediaPipe's landmarks are not SMPL's joints: its hips sit higher and wider than SMPL's hip joints and its
shoulders are on the shoulder surface rather than the joint centre. Nothing corrects that here (an offset
tuned on this set would be tuning on the test set); the "limbs" score leaves those four joints out of the
error (knees, ankles, elbows, wrists) so the comparison there is between like joints.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inference.body.skeleton import JOINT_INDEX
from inference.keypoint_map import MP
from inference.motion_metrics import pa_mpjpe

SCORED = ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_shoulder",
          "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist")
LIMBS = tuple(i for i, n in enumerate(SCORED) if not n.endswith(("hip", "shoulder")))
AMBIGUOUS_DEG = 30.0  # a limb segment within this angle of the line of sight: its depth is not in the picture
SEGMENTS = tuple((f"{s}_{a}", f"{s}_{b}") for s in ("left", "right")
                 for a, b in (("shoulder", "elbow"), ("elbow", "wrist"), ("hip", "knee"), ("knee", "ankle")))
TRUTH_KEYS = ("joints", "pose", "transl", "betas", "fx", "fy", "cx", "cy", "width", "height", "family", "in_image")


def load_set(folder) -> list[tuple[str, Path, dict]]:
    """(name, image path, truth) for every NAME.npz with its NAME.jpg (or .png) in `folder`, sorted by name."""
    out = []
    for npz in sorted(Path(folder).glob("*.npz")):
        image = next((p for p in (npz.with_suffix(".jpg"), npz.with_suffix(".png")) if p.is_file()), None)
        if image is None:
            continue
        with np.load(npz) as z:
            truth = {k: z[k] for k in z.files}
        truth["family"] = str(truth["family"])
        out.append((npz.stem, image, truth))
    return out


def smpl_scored(joints24) -> np.ndarray:
    """[24,3] SMPL joints → [12,3] in SCORED order."""
    return np.asarray(joints24, dtype=np.float64)[[JOINT_INDEX[n] for n in SCORED]]


def mediapipe_scored(world33) -> np.ndarray:
    """[33,3] MediaPipe landmarks → [12,3] in SCORED order (the landmarks of the same names)."""
    return np.asarray(world33, dtype=np.float64)[[MP[n] for n in SCORED]]


def errors_mm(pred12, gt12) -> dict:
    """mpjpe (mid-hip aligned), pa (Procrustes, 12 joints), pa_limbs (Procrustes on the 12, error over LIMBS)."""
    from inference.motion_metrics import procrustes_align

    p = pred12 - pred12[:2].mean(0)
    g = gt12 - gt12[:2].mean(0)
    aligned = procrustes_align(pred12, gt12)
    return {"mpjpe": 1000 * float(np.linalg.norm(p - g, axis=1).mean()),
            "pa": 1000 * pa_mpjpe(pred12[None], gt12[None]),
            "pa_limbs": 1000 * float(np.linalg.norm(aligned - gt12, axis=1)[list(LIMBS)].mean())}


def project(joints, fx, fy, cx, cy) -> np.ndarray:
    j = np.asarray(joints, dtype=np.float64)
    return j[:, :2] / j[:, 2:3] * [fx, fy] + [cx, cy]


def error_2d_px(fit, truth) -> float:
    """Mean pixel distance between the fit's scored joints projected by the fit's camera and the truth's by
    the true camera, over the scored joints that lie inside the picture."""
    cam = fit.camera
    pred = project(smpl_scored(fit.joints3d), cam.fx, cam.fy, cam.cx, cam.cy)
    gt = project(smpl_scored(truth["joints"]), *(float(truth[k]) for k in ("fx", "fy", "cx", "cy")))
    inside = smpl_scored(np.asarray(truth["in_image"], float)[:, None])[:, 0] > 0
    return float(np.linalg.norm(pred - gt, axis=1)[inside].mean()) if inside.any() else float("nan")


def depth_ambiguous(truth) -> bool:
    """An upper arm, forearm, thigh or shin of the truth points within AMBIGUOUS_DEG of the line of sight."""
    j = np.asarray(truth["joints"], dtype=np.float64)
    for a, b in SEGMENTS:
        seg = j[JOINT_INDEX[b]] - j[JOINT_INDEX[a]]
        ray = (j[JOINT_INDEX[a]] + j[JOINT_INDEX[b]]) / 2
        cos = abs(seg @ ray) / (np.linalg.norm(seg) * np.linalg.norm(ray) + 1e-12)
        if cos > np.cos(np.radians(AMBIGUOUS_DEG)):
            return True
    return False
