"""Figures of the photo fit on one rendered photo with known joints: the overlay and a side view.

    .venv/bin/python scripts/render_fit_views.py IMAGE TRUTH.npz OUT_PREFIX

IMAGE and TRUTH come from scripts/render_photo_set.py. Writes OUT_PREFIX_overlay.png (the fitted mesh over
the photo, fitted joints green, the true skeleton red) and OUT_PREFIX_side.png (the scored skeletons seen from
the front and from the side, mid-hips aligned, no other alignment: truth red, fit green,
MediaPipe's world landmarks blue; the scores of bench/accuracy_3d.py written on it). OpenCV drawing only.
Only figures of procedural-background renders may go into docs/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from accuracy_3d import SCORED, errors_mm, mediapipe_scored, smpl_scored  # noqa: E402
from accuracy_photos import draw_overlay  # noqa: E402

# the scored joints' bones (indices into SCORED): legs, arms, hips, shoulders, trunk sides
BONES = ((0, 2), (2, 4), (1, 3), (3, 5), (6, 8), (8, 10), (7, 9), (9, 11), (0, 1), (6, 7), (0, 6), (1, 7))
COLOURS = {"truth": (220, 40, 40), "fit": (30, 170, 30), "MediaPipe": (40, 80, 230)}  # RGB
PANEL = 420  # px per view


def draw_skeletons(skeletons: dict, axes, title: str, scale: float) -> np.ndarray:
    """skeletons: name → [12,3] (mid-hip at the origin, camera axes); axes: the two coordinates drawn across
    and down. An RGB panel; `scale` px per metre."""
    import cv2

    img = np.full((PANEL, PANEL, 3), 255, np.uint8)
    c = np.array([PANEL / 2, PANEL * 0.45])
    for k in range(-2, 3):  # a 0.5 m grid
        for coord in (c[0] + k * 0.5 * scale, ):
            cv2.line(img, (int(coord), 0), (int(coord), PANEL), (235, 235, 235), 1)
        cv2.line(img, (0, int(c[1] + k * 0.5 * scale)), (PANEL, int(c[1] + k * 0.5 * scale)), (235, 235, 235), 1)
    for name, sk in skeletons.items():
        p = sk[:, list(axes)] * scale + c
        col = COLOURS[name]
        for a, b in BONES:
            cv2.line(img, tuple(np.round(p[a]).astype(int)), tuple(np.round(p[b]).astype(int)), col, 2, cv2.LINE_AA)
        for i, q in enumerate(p):
            left = SCORED[i].startswith("left")  # filled = the person's left
            cv2.circle(img, tuple(np.round(q).astype(int)), 4, col, -1 if left else 1, cv2.LINE_AA)
    cv2.putText(img, title, (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    return img


def main(argv=None) -> int:
    import cv2

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("image")
    ap.add_argument("truth")
    ap.add_argument("out_prefix")
    args = ap.parse_args(argv)

    from inference.body.load import load_body
    from inference.body import BodyModel
    from inference.pipeline import Settings, fit_photo

    data = load_body("open")
    with np.load(args.truth) as z:
        t = {k: z[k] for k in z.files}
    res = fit_photo(args.image, Settings(body=data, device="cpu"))
    fit = res.fit
    out = BodyModel(data)(fit.pose[None], fit.betas[None], fit.transl[None])
    verts = out.vertices[0].detach().double().numpy()
    rgb = cv2.imread(args.image)[..., ::-1].copy()
    over = draw_overlay(rgb, fit, data, verts, fit.joints3d)
    uv = t["joints"][:, :2] / t["joints"][:, 2:3] * [t["fx"], t["fy"]] + [t["cx"], t["cy"]]
    for j, parent in enumerate(data.parents[:24]):
        if j:
            cv2.line(over, tuple(np.round(uv[j]).astype(int)), tuple(np.round(uv[parent]).astype(int)),
                     COLOURS["truth"], 1, cv2.LINE_AA)

    gt = smpl_scored(t["joints"])
    sk = {"truth": gt, "fit": smpl_scored(fit.joints3d), "MediaPipe": mediapipe_scored(res.detection.world_landmarks)}
    sk = {k: v - v[:2].mean(0) for k, v in sk.items()}
    extent = max(np.abs(v).max() for v in sk.values())
    scale = 0.42 * PANEL / max(extent, 0.5)
    front = draw_skeletons(sk, (0, 1), "front (camera view)", scale)
    mirrored = {k: v * [1, 1, -1] for k, v in sk.items()}  # depth drawn leftward: the camera on the right
    side = draw_skeletons(mirrored, (2, 1), "side (the camera is to the right)", scale)
    panel = np.concatenate([front, side], 1)
    lines = [f"{Path(args.image).stem} ({str(t['family'])}): mm, 12 joints"]
    for name in ("fit", "MediaPipe"):
        e = errors_mm(sk[name], gt)
        lines.append(f"{name}: MPJPE {e['mpjpe']:.0f}  PA-MPJPE {e['pa']:.0f}  PA limbs {e['pa_limbs']:.0f}")
    foot = np.full((24 * len(lines) + 28, panel.shape[1], 3), 255, np.uint8)
    for i, s in enumerate(lines):
        col = (0, 0, 0) if i == 0 else COLOURS[s.split(":")[0]]
        cv2.putText(foot, s, (8, 22 + 24 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.55, col, 1, cv2.LINE_AA)
    key = "truth red, fit green, MediaPipe blue; filled dots: the person's left"
    cv2.putText(foot, key, (8, foot.shape[0] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (90, 90, 90), 1, cv2.LINE_AA)
    prefix = Path(args.out_prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(f"{prefix}_overlay.png", over[..., ::-1])
    cv2.imwrite(f"{prefix}_side.png", np.concatenate([panel, foot], 0)[..., ::-1])
    print(f"{prefix}_overlay.png {prefix}_side.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
