"""The shipped pose bundles (checksums, what the Tasks API expects inside them, the build script) and the
MediaPipe adapter (inference.mediapipe_pose) on the sample photo against independent references: the COCO
annotation of that photo and MediaPipe 0.10.14's legacy graph, which normalises its inputs by itself."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import threading
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest

from inference import mediapipe_pose as mpp
from inference.errors import BadInputError

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import build_pose_models as build  # noqa: E402

POSE_DIR = REPO / "inference" / "models" / "pose"
MANIFEST = json.loads((POSE_DIR / "manifest.json").read_text())
LEGACY = json.loads((Path(__file__).parent / "data" / "legacy_pose_sample_photo.json").read_text())
SAMPLE = REPO / "data" / "sample_photo.jpg"  # an unchanged copy of COCO val2017 000000000785


def _members(name):
    with zipfile.ZipFile(POSE_DIR / f"pose_landmarker_{name}.task") as z:
        return z.infolist(), {i.filename: z.read(i) for i in z.infolist()}


# ------------------------------------------------------------------------------------------- bundles
def test_shipped_files_match_the_manifest():
    assert set(MANIFEST["outputs"]) == {"LICENSE", "pose_landmarker_full.task", "pose_landmarker_heavy.task"}
    for name, want in MANIFEST["outputs"].items():
        assert hashlib.sha256((POSE_DIR / name).read_bytes()).hexdigest() == want, name
    assert build.main(["--check"]) == 0
    assert b"Apache License" in (POSE_DIR / "LICENSE").read_bytes()[:200]
    assert "Apache" in (POSE_DIR / "NOTICE.md").read_text()


@pytest.mark.parametrize("name", mpp.POSE_MODELS)
def test_bundle_holds_what_the_tasks_api_expects(name):
    infos, files = _members(name)
    # MediaPipe's pose landmarker graph opens exactly these two members of the bundle.
    assert [i.filename for i in infos] == ["pose_detector.tflite", "pose_landmarks_detector.tflite"]
    assert all(i.compress_type == zipfile.ZIP_STORED and i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
    det, lmk = files["pose_detector.tflite"], files["pose_landmarks_detector.tflite"]
    assert det[4:8] == b"TFL3" and lmk[4:8] == b"TFL3"  # TFLite flatbuffers
    # The detector is the wheel's file, unchanged (its checksum was recorded from the wheel).
    assert hashlib.sha256(det).hexdigest() == MANIFEST["inputs"][build.DETECTOR]
    # Input normalisation: the legacy graphs fed the detector [-1, 1] and the landmark model [0, 1].
    assert build.input_normalisation(det) == (127.5, 127.5)
    assert build.input_normalisation(lmk) == (0.0, 255.0)
    tfl_fb, _ = build._schemas()
    sub = tfl_fb.Model.GetRootAs(det, 0).Subgraphs(0)
    assert list(sub.Tensors(sub.Inputs(0)).ShapeAsNumpy()) == [1, 224, 224, 3]
    sub = tfl_fb.Model.GetRootAs(lmk, 0).Subgraphs(0)
    assert list(sub.Tensors(sub.Inputs(0)).ShapeAsNumpy()) == [1, 256, 256, 3]
    # 33 + 6 auxiliary landmarks x 5 values; 39 x 3 world landmarks; 256 x 256 segmentation.
    outs = [list(sub.Tensors(sub.Outputs(i)).ShapeAsNumpy()) for i in range(sub.OutputsLength())]
    assert outs == [[1, 195], [1, 1], [1, 256, 256, 1], [1, 64, 64, 39], [1, 117]]


def test_metadata_writing_keeps_the_model_and_the_zip_is_reproducible():
    _, files = _members("full")
    lmk = files["pose_landmarks_detector.tflite"]
    again = build.with_metadata(lmk, build._landmark_metadata("other"))
    tfl_fb, _ = build._schemas()
    a, b = tfl_fb.Model.GetRootAs(lmk, 0), tfl_fb.Model.GetRootAs(again, 0)
    assert a.BuffersLength() == b.BuffersLength()  # the old metadata buffer is replaced, nothing is added
    meta = {a.Metadata(i).Buffer() for i in range(a.MetadataLength())}

    def data(m, i):
        return m.Buffers(i).DataAsNumpy().tobytes() if m.Buffers(i).DataLength() else b""

    assert sum(len(data(a, i)) for i in range(a.BuffersLength())) > 6e6  # the weights are in there
    for i in range(a.BuffersLength()):  # every weight buffer keeps its bytes
        if i not in meta:
            assert data(a, i) == data(b, i), i
    assert build.read_metadata(again).name == b"BlazePose GHUM 3D pose landmarks (other)"
    z1, z2 = build.bundle(b"a", b"bb"), build.bundle(b"a", b"bb")
    assert z1 == z2 and zipfile.ZipFile(io.BytesIO(z1)).read("pose_landmarks_detector.tflite") == b"bb"


def test_bad_pose_model_name():
    with pytest.raises(BadInputError, match="not one of full, heavy"):
        mpp.model_path("lite")
    with pytest.raises(BadInputError):
        mpp.VideoLandmarker("huge")


# ------------------------------------------------------------------------------------------- adapter
def _fake_result(w, h):
    lm = types.SimpleNamespace
    good = [lm(x=0.1 + 0.02 * i, y=0.5, z=0.0, visibility=1.2 if i == 0 else 0.9, presence=1.0) for i in range(33)]
    hidden = [lm(x=0.5, y=0.5, z=0.0, visibility=0.1, presence=1.0) for _ in range(33)]
    world = [lm(x=float(i), y=0.0, z=-1.0) for i in range(33)]
    mask = types.SimpleNamespace(numpy_view=lambda: np.full((h, w, 1), 2.0, np.float32))
    return types.SimpleNamespace(pose_landmarks=[good, hidden], pose_world_landmarks=[world, world],
                                 segmentation_masks=[mask, mask])


def test_poses_from_result_converts_to_pixels_and_drops_unseen_poses():
    poses = mpp.poses_from_result(_fake_result(200, 100), (200, 100))
    assert len(poses) == 1  # the second pose has no landmark seen
    p = poses[0]
    assert p.keypoints2d.shape == (33, 3) and p.keypoints2d.dtype == np.float32
    np.testing.assert_allclose(p.keypoints2d[5], [200 * 0.2, 50, 0.9], rtol=1e-6)
    assert p.keypoints2d[0, 2] == 1.0  # visibility clipped to [0, 1]
    np.testing.assert_allclose(p.world[:, 0], np.arange(33))
    assert p.mask.shape == (100, 200) and p.mask.max() == 1.0


def test_box_of_and_iou():
    kp = np.zeros((33, 3), np.float32)
    kp[:10] = [[10 + 10 * i, 20 + 5 * i, 1.0] for i in range(10)]  # x 10..100, y 20..65
    np.testing.assert_allclose(mpp.box_of(kp, (1000, 1000)), [1, 11, 109, 74])  # grown by 0.1 x 90 px
    np.testing.assert_allclose(mpp.box_of(kp, (50, 50)), [1, 11, 50, 50])  # clipped
    kp[mpp.MIN_VISIBLE - 1:, 2] = 0.2
    assert mpp.box_of(kp, (1000, 1000)) is None  # too few seen to be a person
    assert mpp.box_iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(50 / 150)


@pytest.fixture(scope="module")
def sample():
    from inference.images import load_image

    return load_image(SAMPLE).rgb


@pytest.mark.parametrize("name", mpp.POSE_MODELS)
def test_sample_photo_agrees_with_the_legacy_graph(sample, name):
    (pose,) = mpp.detect_image(sample, 1, name)
    legacy = np.asarray(LEGACY[name])
    seen = legacy[:, 2] > 0.5
    err = np.linalg.norm(pose.keypoints2d[seen, :2] - legacy[seen, :2], axis=1)
    # Same weights, same crop: any normalisation mistake moves landmarks by tens of pixels.
    assert np.median(err) < 0.5 and err.max() < 6.0, err
    np.testing.assert_allclose(pose.keypoints2d[:, 2], legacy[:, 2], atol=0.05)


def test_sample_photo_matches_its_coco_annotation(sample, photos_dir):
    import cv2

    from inference.keypoint_map import COCO_TO_MEDIAPIPE

    data = json.loads((photos_dir / "coco_annotations.json").read_text())
    (ann,) = [a for a in data["annotations"] if a["image_id"] == 785]
    (pose,) = mpp.detect_image(sample, 1, "full")
    k = np.asarray(ann["keypoints"], float).reshape(17, 3)
    lab = k[:, 2] > 0
    err = np.linalg.norm(pose.keypoints2d[list(COCO_TO_MEDIAPIPE), :2][lab] - k[lab, :2], axis=1)
    assert (err < 0.1 * max(ann["bbox"][2:])).mean() >= 0.9
    truth = np.zeros(sample.shape[:2], np.uint8)
    for poly in ann["segmentation"]:
        cv2.fillPoly(truth, [np.asarray(poly).reshape(-1, 2).round().astype(np.int32)], 1)
    got = pose.mask > 0.5
    iou = (got & (truth > 0)).sum() / (got | (truth > 0)).sum()
    assert iou > 0.6, iou


def test_odd_widths_do_not_abort_the_process():
    # MediaPipe 0.10.35 aborts (not raises) on masks of widths that are not a multiple of 4: a subprocess.
    code = ("import numpy as np; from inference.images import load_image; from inference import mediapipe_pose as m;"
            f"rgb = load_image({str(SAMPLE)!r}).rgb;"
            "print([m.detect_image(np.ascontiguousarray(rgb[:, :w]), 1)[0].mask.shape for w in (637, 638, 639)])")
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "[(425, 637), (425, 638), (425, 639)]"
    assert "W0000" not in res.stderr and "I0000" not in res.stderr  # native start-up lines are silenced


def test_cached_landmarker_is_shared_and_thread_safe(sample):
    assert mpp.image_landmarker("full", 1) is mpp.image_landmarker("full", 1)
    want = mpp.detect_image(sample, 1, "full")[0].keypoints2d
    got = [None] * 4

    def work(i):
        got[i] = mpp.detect_image(sample, 1, "full")[0].keypoints2d

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for g in got:
        np.testing.assert_array_equal(g, want)


def test_video_mode_needs_no_care_about_timestamps(sample):
    with mpp.VideoLandmarker("full") as video:
        poses = [video.detect(sample, t) for t in (0, 0, 33, 10)]  # repeated and backwards times are moved on
        video.reset()
        poses.append(video.detect(sample, 0))
    legacy = np.asarray(LEGACY["full"])
    seen = legacy[:, 2] > 0.5
    for p in poses:
        assert p is not None
        assert np.median(np.linalg.norm(p.keypoints2d[seen, :2] - legacy[seen, :2], axis=1)) < 3.0


def test_extension_zip_carries_the_bundles():
    import build_extension

    files = set(build_extension.collect(REPO))
    for name in [*MANIFEST["outputs"], "NOTICE.md"]:
        assert f"inference/models/pose/{name}" in files, name


def test_fit_and_video_take_a_pose_model():
    import argparse

    from inference import photo, video

    for mod, pos in ((photo, "a.jpg"), (video, "a.mp4")):
        p = argparse.ArgumentParser()
        mod.add_arguments(p)
        assert p.parse_args([pos, "--out", "x"]).pose_model == mpp.DEFAULT_POSE_MODEL == "full"
        assert p.parse_args([pos, "--out", "x", "--pose-model", "heavy"]).pose_model == "heavy"
        with pytest.raises(SystemExit):
            p.parse_args([pos, "--out", "x", "--pose-model", "lite"])


def test_tracker_uses_the_chosen_model_and_rejects_unknown_ones():
    from inference.track import PersonTracker

    with PersonTracker(pose_model="heavy") as tr:
        assert tr.pose_model == "heavy"
    with pytest.raises(BadInputError, match="pose model 'x'"):
        PersonTracker(pose_model="x")
