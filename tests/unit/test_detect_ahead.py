"""inference.detect_ahead: detection in a forked child gives detect_person's own result, its errors, and leaves
no process behind. The child is only used in a process that has not loaded MediaPipe or torch (a fresh one), so
each case runs a small script in a new Python process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample_photo.jpg"

# Loads an image, runs DetectAhead on it, prints JSON: in_child, the keypoints/box/world or the error.
SCRIPT = """
import json, os, sys
import numpy as np
from inference.images import load_image
from inference import detect_ahead
from inference.errors import BodyRigError

img = load_image(sys.argv[1])
mode = sys.argv[2]
if mode == "crash":  # the child dies without an answer; the parent must detect itself
    parent, real = os.getpid(), detect_ahead._detect
    def dying(*a):
        if os.getpid() != parent:
            os._exit(3)
        return real(*a)
    detect_ahead._detect = dying
out = {"usable": detect_ahead.fork_usable()}
try:
    with detect_ahead.DetectAhead(img.rgb, img.name) as pending:
        out["pid"] = pending.child_pid
        if mode == "raise":
            raise RuntimeError("the caller failed")
        det = pending.result()
    out.update(in_child=pending.in_child, kp=det.keypoints2d.tolist(), box=det.box.tolist(),
               world=det.world_landmarks.tolist(), mask_sum=float(det.mask.sum()), notes=det.notes)
except BodyRigError as exc:
    out.update(error=type(exc).__name__, message=str(exc), in_child=pending.in_child)
except RuntimeError as exc:
    out.update(raised=str(exc))
try:
    os.waitpid(-1, os.WNOHANG)
    out["children_left"] = True
except ChildProcessError:
    out["children_left"] = False
print("RESULT" + json.dumps(out))
"""


def _run(image, mode="ok"):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    res = subprocess.run([sys.executable, "-c", SCRIPT, str(image), mode], capture_output=True, text=True,
                         cwd=REPO, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.split("RESULT")[-1])


def _serial(image):
    from inference.detect import detect_person
    from inference.images import load_image

    img = load_image(image)
    return detect_person(img.rgb, img.name)


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the child is forked on Linux only")


@linux_only
def test_the_child_gives_the_serial_detection_exactly():
    got = _run(SAMPLE)
    assert got["usable"] and got["in_child"] and not got["children_left"]
    want = _serial(SAMPLE)
    np.testing.assert_array_equal(np.asarray(got["kp"], np.float32), want.keypoints2d)
    np.testing.assert_array_equal(np.asarray(got["box"], np.float32), want.box)
    np.testing.assert_array_equal(np.asarray(got["world"], np.float32), want.world_landmarks)
    assert got["mask_sum"] == pytest.approx(float(want.mask.sum()), rel=1e-6)
    assert got["notes"] == want.notes


@linux_only
def test_no_person_is_the_serial_error(tmp_path):
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((240, 320, 3), 127, np.uint8)).save(blank)
    got = _run(blank)
    assert got["in_child"] and not got["children_left"]
    assert got["error"] == "NoPersonError" and got["message"] == "no person found in blank.png"


@linux_only
def test_a_child_that_dies_falls_back_to_detecting_here():
    got = _run(SAMPLE, "crash")
    assert got["in_child"] is False and not got["children_left"]
    np.testing.assert_array_equal(np.asarray(got["kp"], np.float32), _serial(SAMPLE).keypoints2d)


@linux_only
def test_leaving_the_block_early_kills_and_reaps_the_child():
    got = _run(SAMPLE, "raise")
    assert got["raised"] == "the caller failed" and got["pid"] is not None
    assert not got["children_left"]


def test_no_child_where_fork_is_not_safe(monkeypatch):
    from inference import detect_ahead
    from inference.images import load_image

    monkeypatch.setattr(detect_ahead, "fork_usable", lambda: False)
    img = load_image(SAMPLE)
    with detect_ahead.DetectAhead(img.rgb, img.name) as pending:
        assert pending.child_pid is None
        det = pending.result()
    assert not pending.in_child and pending.seconds > 0
    np.testing.assert_array_equal(det.keypoints2d, _serial(SAMPLE).keypoints2d)


def test_fork_is_refused_once_mediapipe_is_loaded():
    import mediapipe  # noqa: F401 - its threads must not be copied into a child

    from inference.detect_ahead import fork_usable

    assert not fork_usable()


def test_the_answer_crosses_the_pipe_without_pickle():
    """The wire format keeps every field of a Detection and its errors, and refuses what is not its own: a
    pickle (which could run code when read), a cut-short answer, an error class from outside inference.errors."""
    import pickle

    from inference.detect import Detection
    from inference.detect_ahead import decode_answer, encode_answer
    from inference.errors import NoPersonError

    rng = np.random.default_rng(0)
    det = Detection(box=rng.random(4, dtype=np.float32), keypoints2d=rng.random((33, 3), dtype=np.float32),
                    world_landmarks=rng.random((33, 3), dtype=np.float32),
                    mask=rng.random((5, 7), dtype=np.float32), num_people=3, notes=["used the largest of 3"],
                    world_mirrored=rng.random((33, 3), dtype=np.float32))
    for world_mirrored in (det.world_mirrored, None):
        det.world_mirrored = world_mirrored
        kind, (got, seconds) = decode_answer(encode_answer("ok", (det, 0.25)))
        assert kind == "ok" and seconds == 0.25
        assert got.num_people == 3 and got.notes == det.notes
        for f in ("box", "keypoints2d", "world_landmarks", "mask"):
            np.testing.assert_array_equal(getattr(got, f), getattr(det, f))
            assert getattr(got, f).dtype == np.float32
        assert (got.world_mirrored is None) == (world_mirrored is None)
        if world_mirrored is not None:
            np.testing.assert_array_equal(got.world_mirrored, world_mirrored)
    kind, err = decode_answer(encode_answer("error", NoPersonError("no person found in x.png")))
    assert kind == "error" and type(err) is NoPersonError and str(err) == "no person found in x.png"

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    assert decode_answer(pickle.dumps(("ok", Evil()))) is None
    raw = encode_answer("ok", (det, 0.25))
    assert decode_answer(raw[: len(raw) // 2]) is None and decode_answer(b"") is None
    assert decode_answer(encode_answer("error", RuntimeError("not ours"))) is None
