"""Camera motion from the background (inference.camera_motion): turns recovered from generated frames whose true
camera turn is known (tests/camera_scenes.py)."""

from __future__ import annotations

import numpy as np
import pytest

from inference.camera_motion import CameraTracker, nearest_rotation, turn_degrees
from tests.camera_scenes import F, H, W, euler, render, texture


@pytest.fixture(scope="module")
def canvas():
    return texture(seed=3)


def _angle_between(a, b) -> float:
    return turn_degrees(a.T @ b)


def test_nearest_rotation_of_a_noisy_rotation_is_a_rotation():
    r = euler(10, -5, 3) + np.random.default_rng(0).normal(0, 0.01, (3, 3))
    n = nearest_rotation(r)
    np.testing.assert_allclose(n @ n.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(n) > 0 and _angle_between(n, euler(10, -5, 3)) < 1.5


def test_pan_tilt_roll_recovered_within_a_third_of_a_degree(canvas):
    """A camera panning 1.2°, tilting 0.5° and rolling 0.3° a frame for 20 frames (24° of pan in all)."""
    turns = [euler(1.2 * t, 0.5 * t, 0.3 * t) for t in range(21)]
    tracker = CameraTracker(F, W, H)
    got = [tracker.step(render(canvas, r)) for r in turns]
    for t, (r, g) in enumerate(zip(turns, got)):
        # frame t's camera → frame 0's: X_0 = r_tᵀ X_t (the frames are all turns of the same canvas camera)
        assert _angle_between(g, r.T) < 0.3, (t, _angle_between(g, r.T))
    assert tracker.notes == []


def test_a_moving_person_inside_the_box_does_not_count(canvas):
    """A large textured patch (the 'person') sliding across a still background: masked by its box, no turn."""
    tracker = CameraTracker(F, W, H)
    person = texture(seed=9, width=160, height=360)
    for t in range(10):
        frame = render(canvas, np.eye(3)).copy()
        x = 100 + 25 * t
        frame[60:420, x:x + 160] = person
        box = (x, 60, x + 160, 420)
        got = tracker.step(frame, box)
    assert turn_degrees(got) < 0.2


def test_a_textureless_view_is_held_still_and_noted():
    tracker = CameraTracker(F, W, H)
    grey = np.full((H, W, 3), 128, np.uint8)
    for _ in range(5):
        got = tracker.step(grey)
    np.testing.assert_allclose(got, np.eye(3))
    assert len(tracker.notes) == 1 and "4 of 5 frames" in tracker.notes[0]


def test_downscaling_keeps_the_per_frame_cost_small(canvas):
    """A 1080p frame is analysed at a few hundred pixels wide: a step takes milliseconds, not tens."""
    import time

    import cv2

    big = [cv2.resize(render(canvas, euler(0.5 * t, 0, 0)), (1920, 1440)) for t in range(6)]
    tracker = CameraTracker(F * 3, 1920, 1440)
    tracker.step(big[0])
    t0 = time.perf_counter()
    for frame in big[1:]:
        tracker.step(frame)
    per_frame = (time.perf_counter() - t0) / 5
    assert per_frame < 0.05  # generous for a loaded test machine; about 3-5 ms unloaded


def test_a_walking_camera_keeps_its_turns_and_finds_its_path():
    """A camera 1.6 m above a floor, in front of a wall 12 m away, walking 4 cm a frame forward and 1.5 cm
    sideways while panning 0.4° a frame (a 3D scene: the floor's parallax is not a pure turn). The turns stay
    right within a degree, and the path, in units of the camera's height, within 15% of its 1.1 m length."""
    from tests.camera_scenes import render_room

    floor, wall = texture(seed=5, width=1600, height=1150), texture(seed=6, width=2400, height=800)
    height, frames = 1.6, 26
    q = [euler(0.4 * t, 15, 0) for t in range(frames)]
    c = [np.array([0.015 * t, 0.0, 0.04 * t]) for t in range(frames)]
    tracker = CameraTracker(F, W, H)
    for qt, ct in zip(q, c):
        tracker.step(render_room(floor, wall, qt, ct, height=height))
    motion = tracker.motion()
    for t in range(frames):
        assert _angle_between(motion[t, :, :3], q[0] @ q[t].T) < 1.0, t
    truth = q[0] @ c[-1] / height  # the last centre in the first camera's coordinates, in floor distances
    err = np.linalg.norm(motion[-1, :, 3] - truth) / np.linalg.norm(truth)
    assert err < 0.15, (motion[-1, :, 3], truth)


def test_camera_beside_the_tracker_runs_off_the_main_thread_in_order_with_the_same_turns(canvas, monkeypatch):
    """inference.video.CameraBeside: the steps run on its thread (the tracker goes on meanwhile), one after
    another in the order given, and the camera path is the one of stepping in the call."""
    import threading

    from inference.video import CameraBeside

    frames = [render(canvas, euler(1.0 * t, 0.4 * t, 0.2 * t)) for t in range(8)]
    plain = CameraTracker(F, W, H)
    for f in frames:
        plain.step(f)
    seen = []
    step = CameraTracker.step

    def recorded(self, rgb, box=None):
        seen.append(threading.current_thread() is threading.main_thread())
        return step(self, rgb, box)

    monkeypatch.setattr(CameraTracker, "step", recorded)
    beside = CameraBeside(CameraTracker(F, W, H), thread=True)
    try:
        for f in frames:
            beside.step(f, None)
        np.testing.assert_array_equal(beside.motion(), plain.motion())
    finally:
        beside.close()
    assert seen == [False] * len(frames)
    assert beside.notes == plain.notes


def test_camera_beside_the_tracker_raises_a_step_error_at_the_next_call(canvas, monkeypatch):
    from inference.video import CameraBeside

    def broken(self, rgb, box=None):
        raise RuntimeError("camera step failed")

    monkeypatch.setattr(CameraTracker, "step", broken)
    beside = CameraBeside(CameraTracker(F, W, H), thread=True)
    try:
        beside.step(render(canvas, np.eye(3)), None)  # returns at once: the step runs beside
        with pytest.raises(RuntimeError, match="camera step failed"):
            beside.wait()
    finally:
        beside.close()
