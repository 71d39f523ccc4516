"""inference.detect on real COCO photos, checked against the COCO keypoint annotations (an independent truth)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inference.errors import BadInputError, NoPersonError

# COCO's 17 keypoints → MediaPipe Pose landmark indices (from the two models' published landmark lists).
COCO_TO_MEDIAPIPE = [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]


@pytest.fixture(scope="session")
def coco(photos_dir):
    data = json.loads((photos_dir / "coco_annotations.json").read_text())
    names = {im["id"]: im["file_name"] for im in data["images"]}
    people = {}
    for a in data["annotations"]:
        if a.get("num_keypoints", 0) > 0:
            people.setdefault(names[a["image_id"]], []).append(a)
    return people


def _pck(keypoints2d, ann, scale=1.0):
    """Fraction of the annotated (visible or occluded-but-labelled) COCO keypoints within 0.1 of the box size."""
    k = np.asarray(ann["keypoints"], float).reshape(17, 3)
    labelled = k[:, 2] > 0
    dist = np.linalg.norm(keypoints2d[COCO_TO_MEDIAPIPE, :2] - k[:, :2] * scale, axis=1)
    return float((dist[labelled] < 0.1 * max(ann["bbox"][2:]) * scale).mean())


def _iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / union


def _xyxy(bbox):
    x, y, w, h = bbox
    return [x, y, x + w, y + h]


@pytest.fixture(scope="session")
def skier(photos_dir):
    from inference.detect import detect_person
    from inference.images import load_image

    img = load_image(photos_dir / "000000000785.jpg")
    return img, detect_person(img.rgb, img.name)


def test_one_skier_matches_coco(skier, coco):
    img, det = skier
    (ann,) = coco["000000000785.jpg"]
    assert det.num_people == 1 and det.notes == []
    assert det.keypoints2d.shape == (33, 3) and det.world_landmarks.shape == (33, 3)
    assert _pck(det.keypoints2d, ann) >= 0.7
    assert _iou(det.box, _xyxy(ann["bbox"])) > 0.6


def test_mask_and_world_landmarks(skier, coco):
    img, det = skier
    h, w = img.rgb.shape[:2]
    assert det.mask.shape == (h, w) and det.mask.dtype == np.float32
    assert 0.0 <= det.mask.min() and det.mask.max() <= 1.0
    x0, y0, x1, y1 = (int(v) for v in _xyxy(coco["000000000785.jpg"][0]["bbox"]))
    inside = np.zeros((h, w), bool)
    inside[y0:y1, x0:x1] = True
    # The person fills a good part of their box; almost nothing outside it is "person".
    assert det.mask[inside].mean() > 0.3 and det.mask[~inside].mean() < 0.02
    wl = det.world_landmarks
    np.testing.assert_allclose((wl[23] + wl[24]) / 2, 0, atol=0.05)  # hip-centred
    assert wl[0, 1] < -0.3 and wl[27, 1] > 0.3  # y down: nose above the hips, ankles below (metres)
    assert 1.0 < wl[0, 1] * -1 + (wl[27, 1] + wl[28, 1]) / 2 < 2.0  # nose to ankles: a person's size


def test_several_people_uses_the_largest(photos_dir, coco):
    from inference.detect import detect_person
    from inference.images import load_image

    img = load_image(photos_dir / "000000197388.jpg")
    det = detect_person(img.rgb, img.name)
    assert det.num_people >= 2
    assert det.notes == [f"{det.num_people} people found; using the largest"]
    anns = coco["000000197388.jpg"]
    # The chosen box lies on a real person, one of the two biggest annotated ones, and is not a small one.
    by_size = sorted(anns, key=lambda a: a["bbox"][2] * a["bbox"][3], reverse=True)
    best = max(anns, key=lambda a: _iou(det.box, _xyxy(a["bbox"])))
    assert best in by_size[:2] and _iou(det.box, _xyxy(best["bbox"])) > 0.4
    # Overlapping skiers can pull a few MediaPipe landmarks onto a neighbour: a looser bar than one person.
    assert _pck(det.keypoints2d, best) >= 0.4


def test_large_image_detected_on_a_copy(skier, coco):
    import cv2

    from inference.detect import detect_person

    img, _ = skier
    big = cv2.resize(img.rgb, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)  # 1920 x 1275
    det = detect_person(big, "big.jpg")
    assert any("copy of the 1920x1275 image" in n for n in det.notes)
    assert det.mask.shape == big.shape[:2]
    assert _pck(det.keypoints2d, coco["000000000785.jpg"][0], scale=3.0) >= 0.7


def test_no_person_and_bad_input():
    from inference import detect

    blank = np.full((240, 320, 3), 200, np.uint8)
    with pytest.raises(NoPersonError, match="no person found in blank.png"):
        detect.detect_person(blank, "blank.png")
    with pytest.raises(BadInputError):
        detect.detect_person(np.zeros((10, 10), np.uint8))
    from inference import mediapipe_pose

    assert mediapipe_pose.image_landmarker() is mediapipe_pose.image_landmarker()  # one landmarker per process


@pytest.mark.parametrize("name", ["hmr_coco1.png", "hmr_im1963.jpg"])
def test_person_filling_the_picture_found_with_padded_edges(photos_dir, name):
    """HMR's demo crops (a catcher, a hurdler) are cut around the person; the plain pass finds nobody in them."""
    from inference import detect
    from inference.images import load_image
    from inference.keypoint_map import MP
    from inference.mediapipe_pose import detect_image

    img = load_image(photos_dir / name)
    h, w = img.rgb.shape[:2]
    assert detect_image(img.rgb, 1) == []  # the case this is for: the plain landmarker finds nobody
    det = detect.detect_person(img.rgb, img.name)
    assert det.notes == ["the person fills the picture: found once its edges were padded"]
    assert det.mask.shape == (h, w) and det.mask.mean() > 0.1  # cut back to the picture, the person in it
    x0, y0, x1, y1 = det.box
    assert (x1 - x0) * (y1 - y0) > 0.3 * w * h  # fills much of the picture, in its pixels
    torso = det.keypoints2d[[MP[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")], :2]
    assert np.all((torso >= 0) & (torso <= [w, h]))
