"""2D accuracy of photo fitting on the COCO photos in ../shared/data/photos, and the overlay pictures.

PCK@0.1: a keypoint is correct when it lies within 0.1 x the annotated person box's longer side of the COCO
annotation; mean error in pixels over the same keypoints. Only COCO keypoints that are annotated (v > 0) and
that the body model has a joint for are scored; the MediaPipe baseline is scored on the same keypoints.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from inference.keypoint_map import COCO_TO_MEDIAPIPE


def load_coco(photos_dir: Path) -> dict:
    """file name → list of (keypoints [17,3] x, y, v; bbox [4] x, y, w, h)."""
    d = json.loads((Path(photos_dir) / "coco_annotations.json").read_text())
    names = {im["id"]: im["file_name"] for im in d["images"]}
    out: dict = {}
    for a in d["annotations"]:
        if a.get("num_keypoints", 0) > 0:
            out.setdefault(names[a["image_id"]], []).append(
                (np.asarray(a["keypoints"], dtype=np.float64).reshape(17, 3), np.asarray(a["bbox"], dtype=float)))
    return out


def match_annotation(annotations, mediapipe_kp):
    """The annotation of the person MediaPipe found: the smallest mean distance over shared keypoints."""
    mp = np.asarray(mediapipe_kp)[list(COCO_TO_MEDIAPIPE), :2]

    def cost(ann):
        kp, _ = ann
        ok = kp[:, 2] > 0
        return np.linalg.norm(kp[ok, :2] - mp[ok], axis=1).mean() if ok.any() else np.inf

    return min(annotations, key=cost)


def score(pred2d, annotation, valid=None, alpha: float = 0.1):
    """pred2d [17,2] px (NaN where absent), annotation (kp [17,3], bbox) → (PCK, mean px error, count)."""
    kp, bbox = annotation
    ok = (kp[:, 2] > 0) & np.isfinite(pred2d).all(1)
    if valid is not None:
        ok &= valid
    err = np.linalg.norm(pred2d[ok] - kp[ok, :2], axis=1)
    thr = alpha * max(bbox[2], bbox[3])
    return float((err <= thr).mean()), float(err.mean()), int(ok.sum())


def fitted_coco_2d(fit, body_data):
    """Project the fitted model's joints matched to COCO keypoints → [17,2] px (NaN where the body lacks one)."""
    from inference.body import BodyModel
    from inference.keypoint_map import KeypointMap

    model = BodyModel(body_data)
    out = model(fit.pose[None], fit.betas[None], fit.transl[None])
    joints = out.joints[0].detach().double().numpy()
    idx = KeypointMap(body_data.joint_names).coco_joint_index()
    p = np.full((17, 2), np.nan)
    have = idx >= 0
    p[have] = fit.camera.project(joints[idx[have]])
    return p, out.vertices[0].detach().double().numpy(), joints


def draw_overlay(rgb, fit, body_data, vertices, joints, annotation=None):
    """The posed mesh's triangles filled semi-transparently (far ones first) over the photo, the fitted joints
    (green) and, when given, the COCO annotation (red crosses). Returns an RGB uint8 image."""
    import cv2

    v = vertices
    uv = fit.camera.project(v)
    faces = body_data.f
    depth = v[faces, 2].mean(1)
    tri = v[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-12
    shade = np.abs(normal[:, 2])  # facing the camera = bright
    layer = rgb.copy()
    mask = np.zeros(rgb.shape[:2], np.uint8)
    for fi in np.argsort(-depth):  # painter's algorithm: far to near
        col = (np.array([90, 160, 255]) * (0.35 + 0.65 * shade[fi])).astype(int).tolist()
        pts = np.round(uv[faces[fi]] * 4).astype(np.int32)  # 2 bits of sub-pixel precision
        cv2.fillConvexPoly(layer, pts, col, lineType=cv2.LINE_AA, shift=2)
        cv2.fillConvexPoly(mask, pts, 255, shift=2)
    out = rgb.copy()
    m = mask > 0
    out[m] = (0.45 * rgb[m] + 0.55 * layer[m]).astype(np.uint8)
    j2 = fit.camera.project(joints)
    parents = body_data.parents
    for j in range(1, 24):
        a, b = tuple(np.round(j2[j]).astype(int)), tuple(np.round(j2[parents[j]]).astype(int))
        cv2.line(out, a, b, (40, 220, 40), 2, cv2.LINE_AA)
    for p in j2[:24]:
        cv2.circle(out, tuple(np.round(p).astype(int)), 3, (0, 255, 0), -1, cv2.LINE_AA)
    if annotation is not None:
        for x, y, vis in annotation[0]:
            if vis > 0:
                cv2.drawMarker(out, (int(round(x)), int(round(y))), (255, 40, 40), cv2.MARKER_CROSS, 8, 2)
    return out
