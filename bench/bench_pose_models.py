"""Pose models: "full" vs "heavy" (inference.mediapipe_pose), and how to find several people in a photo.

Run: `.venv/bin/python -m pytest bench/bench_pose_models.py -m bench -s`. Prints the tables for bench/RESULTS.md.

- photos: 2D PCK@0.1 of inference.detect.detect_person (the largest person) on the COCO photos in
  ../shared/data/photos against the annotation it matches (bench/accuracy_photos.py), and ms per photo. Several
  people: how many of the annotated people (>= 5 labelled keypoints) each search finds (a detection whose box
  overlaps the person's annotated box by IoU > 0.3) and with what PCK: detect_people (paint the found person
  out, look again, then refine on each crop) vs one landmarker call asked for MAX_PEOPLE poses (baseline).
- rendered clip: tests/e2e/data/gt_plain.mp4 (scripts/render_gt_video.py, 90 frames of the open body with
  known joints). 3D bone-direction agreement: the angle between each limb bone of the world landmarks and the
  same bone of the true joints (camera axes; MediaPipe's world axes are the camera's), for IMAGE mode on every
  frame (detect_person) and for the VIDEO-mode tracker (inference.track.PersonTracker); ms per frame for both.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy_photos import load_coco, match_annotation, score  # noqa: E402

from inference.keypoint_map import COCO_TO_MEDIAPIPE, MP  # noqa: E402

pytestmark = pytest.mark.bench
REPO = Path(__file__).resolve().parents[1]
PHOTOS = Path(os.environ.get("BODYRIG_SHARED", REPO.parent / "shared")) / "data" / "photos"
CLIP = REPO / "tests" / "e2e" / "data"
MODELS = ("full", "heavy")
# (SMPL joint, SMPL joint, MediaPipe landmark, MediaPipe landmark): the bones compared in 3D.
BONES = [(a, b, MP[a], MP[b]) for a, b in (
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"), ("right_shoulder", "right_elbow"),
    ("right_elbow", "right_wrist"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"), ("left_shoulder", "right_shoulder"),
    ("left_hip", "right_hip"))]


def _xyxy(b):
    return [b[0], b[1], b[0] + b[2], b[1] + b[3]]


def _machine() -> str:
    return f"{os.cpu_count()}-core CPU, load average {os.getloadavg()[0]:.1f}, {time.strftime('%Y-%m-%d')}"


def _people_found(dets, anns):
    """(found, findable, PCKs of the found, detections on nobody) for detections with boxes and keypoints."""
    from inference.mediapipe_pose import box_iou

    findable = [a for a in anns if (a[0][:, 2] > 0).sum() >= 5]
    pcks = []
    for a in findable:
        ious = [box_iou(d[0], _xyxy(a[1])) for d in dets]
        if ious and max(ious) > 0.3:
            pcks.append(score(dets[int(np.argmax(ious))][1][list(COCO_TO_MEDIAPIPE), :2], a)[0])
    nobody = sum(1 for d in dets if max(box_iou(d[0], _xyxy(a[1])) for a in anns) <= 0.3)
    return len(pcks), len(findable), pcks, nobody


def _together(rgb, pose_model):
    """The baseline search: one IMAGE-mode call asked for MAX_PEOPLE poses, duplicates (IoU > 0.5) dropped."""
    from inference.detect import MAX_PEOPLE
    from inference.mediapipe_pose import box_iou, box_of, detect_image

    out = []
    for p in detect_image(rgb, MAX_PEOPLE, pose_model):
        box = box_of(p.keypoints2d, (rgb.shape[1], rgb.shape[0]))
        if box is not None and all(box_iou(box, b) <= 0.5 for b, _ in out):
            out.append((box, p.keypoints2d))
    return out


def test_photos_full_vs_heavy():
    from inference.detect import detect_people, detect_person
    from inference.images import load_image

    if not (PHOTOS / "coco_annotations.json").is_file():
        pytest.skip("../shared/data/photos is absent on this machine")
    coco = load_coco(PHOTOS)
    images = {f: load_image(PHOTOS / f).rgb for f in sorted(coco)}
    print(f"\nphotos, {_machine()}")
    for model in MODELS:
        detect_person(images[sorted(images)[0]], pose_model=model)  # warm-up: create the landmarkers
        rows, ms = [], []
        search = {"paint-out": [0, 0, [], 0], "together": [0, 0, [], 0]}
        for f, rgb in images.items():
            t0 = time.perf_counter()
            det = detect_person(rgb, f, pose_model=model)
            ms.append(1000 * (time.perf_counter() - t0))
            rows.append((f, *score(det.keypoints2d[list(COCO_TO_MEDIAPIPE), :2], match_annotation(coco[f],
                                                                                                   det.keypoints2d))))
            for name, dets in (("paint-out", [(d.box, d.keypoints2d) for d in detect_people(rgb, f, model)]),
                               ("together", _together(rgb, model))):
                found, findable, pcks, nobody = _people_found(dets, coco[f])
                s = search[name]
                s[0], s[1], s[3] = s[0] + found, s[1] + findable, s[3] + nobody
                s[2] += pcks
        for f, pck, err, n in rows:
            print(f"  {model:5s} {f}  PCK@0.1 {pck:.2f}  err {err:5.1f} px  n {n}")
        print(f"  {model:5s} mean PCK@0.1 {np.mean([r[1] for r in rows]):.3f}  err {np.mean([r[2] for r in rows]):.1f} px"
              f"  detect_person {np.mean(ms):.0f} ms/photo (mean of {len(ms)}, warm)")
        for name, (found, findable, pcks, nobody) in search.items():
            print(f"  {model:5s} several people, {name:9s}: found {found}/{findable}, mean PCK of the found "
                  f"{np.mean(pcks):.2f}, detections on nobody {nobody}")


def _truth_joints():
    """The rendered clip's true SMPL joints [T,24,3] in MediaPipe's camera axes (x right, y down, z away)."""
    from inference.body import BodyModel
    from inference.body.load import load_body

    gt = np.load(CLIP / "gt_motion.npz")
    model = BodyModel(load_body("open"))  # the body the clip was rendered with (its "body" entry)
    assert str(gt["body"]).endswith("open_body_v1.npz"), gt["body"]
    t = len(gt["pose"])
    joints = model(gt["pose"], np.repeat(gt["betas"][None], t, 0), gt["transl"]).joints.detach().double().numpy()
    return joints[:, :24] * np.array([1.0, -1.0, -1.0])  # WORLD frame (camera at 0, y up, looking down -z)


def _bone_angles(world, truth) -> np.ndarray:
    """Angles (degrees) between MediaPipe bones [33,3] and true bones [24,3] → [len(BONES)]."""
    from inference.body.skeleton import JOINT_INDEX as J

    out = []
    for a, b, ma, mb in BONES:
        u, v = world[mb] - world[ma], truth[J[b]] - truth[J[a]]
        c = u @ v / (np.linalg.norm(u) * np.linalg.norm(v))
        out.append(np.degrees(np.arccos(np.clip(c, -1, 1))))
    return np.array(out)


def test_rendered_clip_bone_directions():
    import cv2

    from inference.detect import detect_person
    from inference.errors import NoPersonError
    from inference.track import PersonTracker

    clip = CLIP / "gt_plain.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip} is absent (scripts/render_gt_video.py)")
    cap = cv2.VideoCapture(str(clip))
    frames = []
    while (got := cap.read())[0]:
        frames.append(cv2.cvtColor(got[1], cv2.COLOR_BGR2RGB))
    truth = _truth_joints()
    assert len(frames) == len(truth)
    print(f"\nrendered clip {clip.name}, {len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]}, {_machine()}")
    for model in MODELS:
        detect_person(frames[0], pose_model=model)  # warm-up
        for mode in ("IMAGE (detect_person)", "VIDEO (PersonTracker)"):
            angles, t0 = [], time.perf_counter()
            if mode.startswith("IMAGE"):
                worlds = []
                for f in frames:
                    try:
                        worlds.append(detect_person(f, pose_model=model).world_landmarks)
                    except NoPersonError:
                        worlds.append(None)
            else:
                with PersonTracker(pose_model=model) as tracker:
                    worlds = [None if (o := tracker.step(f, k / 30.0)) is None else o.world
                              for k, f in enumerate(frames)]
            ms = 1000 * (time.perf_counter() - t0) / len(frames)
            for w, t in zip(worlds, truth):
                if w is not None:
                    angles.append(_bone_angles(w, t))
            a = np.array(angles)
            per_bone = " ".join(f"{x:.0f}" for x in a.mean(0))
            print(f"  {model:5s} {mode:22s} frames found {len(a)}/{len(frames)}  bone angle mean {a.mean():5.1f} deg"
                  f"  median {np.median(a):5.1f}  limbs only {a[:, :8].mean():5.1f}  per bone [{per_bone}]"
                  f"  {ms:5.1f} ms/frame")


def test_photo_fit_full_vs_heavy():
    """The whole photo fit (open body, no HMR checkpoint) with each model: 2D PCK@0.1 of the fitted joints."""
    from accuracy_photos import fitted_coco_2d

    from inference.body.load import load_body
    from inference.photo import fit_image

    if not (PHOTOS / "coco_annotations.json").is_file():
        pytest.skip("../shared/data/photos is absent on this machine")
    coco = load_coco(PHOTOS)
    data = load_body("open")
    print(f"\nphoto fit (open body, no checkpoint), {_machine()}")
    for model in MODELS:
        fit_image(PHOTOS / sorted(coco)[0], body=data, device="cpu", pose_model=model)  # warm-up
        pcks, errs, secs = [], [], []
        for f in sorted(coco):
            fit = fit_image(PHOTOS / f, body=data, device="cpu", pose_model=model)
            pred, _, _ = fitted_coco_2d(fit, data)
            pck, err, _ = score(pred, match_annotation(coco[f], fit.keypoints2d))
            pcks.append(pck), errs.append(err), secs.append(sum(fit.timings.values()))
            print(f"  {model:5s} {f}  fit PCK@0.1 {pck:.2f}  err {err:5.1f} px")
        print(f"  {model:5s} mean fit PCK@0.1 {np.mean(pcks):.3f}  err {np.mean(errs):.1f} px  {np.mean(secs):.2f} s/photo")
