"""One tracked person (matching gates, start choice, crops, a real photo moving through frames) and the
batched temporal fit (known motion of the tiny body: accuracy, less jitter than per-frame, chunks join)."""

from __future__ import annotations

import numpy as np
import pytest

from inference.errors import BadInputError
from inference.track import (Observation, PersonTracker, box_iou, choose_start, crop_transform, keypoint_distance,
                             same_person, uncrop_keypoints)


def _obs(box, shift=(0.0, 0.0), vis=0.9):
    """An observation whose 33 keypoints are spread over the box (deterministic), shifted by `shift` px."""
    x0, y0, x1, y1 = box
    g = np.linspace(0.1, 0.9, 33)
    kp = np.stack([x0 + (x1 - x0) * g + shift[0], y0 + (y1 - y0) * g[::-1] + shift[1], np.full(33, vis)], 1)
    b = np.asarray(box, np.float32) + np.float32([shift[0], shift[1], shift[0], shift[1]])
    return Observation(box=b, keypoints2d=kp.astype(np.float32), world=np.zeros((33, 3), np.float32))


def test_box_iou_by_hand():
    assert box_iou([0, 0, 10, 10], [0, 0, 10, 10]) == pytest.approx(1.0)
    assert box_iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(50 / 150)
    assert box_iou([0, 0, 10, 10], [20, 20, 30, 30]) == 0.0


def test_keypoint_distance_is_relative_to_the_box_and_needs_shared_visible_points():
    a = _obs([0, 0, 100, 200])
    b = _obs([0, 0, 100, 200], shift=(20.0, 0.0))
    assert keypoint_distance(a.keypoints2d, b.keypoints2d, a.box) == pytest.approx(20 / 200)
    hidden = b.keypoints2d.copy()
    hidden[:, 2] = 0.1
    assert keypoint_distance(a.keypoints2d, hidden, a.box) == float("inf")


def test_same_person_gates_and_slack():
    prev = _obs([100, 100, 200, 400])
    assert same_person(prev, _obs([100, 100, 200, 400], shift=(10, 5))) is not None  # moved a little
    far = _obs([100, 100, 200, 400], shift=(250, 0))  # someone else, further right
    assert same_person(prev, far) is None
    mid = _obs([100, 100, 200, 400], shift=(120, 0))  # 0.4 box away, no overlap: only with slack
    assert same_person(prev, mid) is None and same_person(prev, mid, slack=2.0) is not None
    near, nearer = _obs([100, 100, 200, 400], shift=(30, 0)), _obs([100, 100, 200, 400], shift=(5, 0))
    assert same_person(prev, nearer) < same_person(prev, near)


def test_choose_start_largest_or_from_the_left():
    boxes = [[300, 0, 400, 300], [0, 0, 50, 100], [150, 0, 200, 400]]  # areas 30000, 5000, 20000
    assert choose_start(boxes) == 0
    assert [choose_start(boxes, k) for k in range(3)] == [1, 2, 0]
    with pytest.raises(BadInputError, match="only 3 people"):
        choose_start(boxes, 3)


def test_crop_round_trip():
    box = np.array([120.0, 40.0, 220.0, 340.0])
    a = crop_transform(box, size=384, grow=1.5)
    pts = np.array([[120.0, 40.0, 1.0], [220.0, 340.0, 0.5], [170.0, 190.0, 0.2]])
    in_crop = np.c_[pts[:, :2] @ a[:, :2].T + a[:, 2], pts[:, 2]]
    assert np.allclose(in_crop[2, :2], [192, 192])  # the box centre is the crop centre
    assert np.all((in_crop[:, :2] > 0) & (in_crop[:, :2] < 384))  # the box fits inside
    assert np.allclose(uncrop_keypoints(in_crop, a), pts, atol=1e-4)


@pytest.fixture(scope="module")
def two_people(photos_dir):
    from inference.images import load_image

    return load_image(photos_dir / "000000197388.jpg").rgb


def _moving(rgb, steps, dx=4):
    """Frames of the photo sliding right by dx px a frame (edge padded)."""
    return [np.pad(rgb, ((0, 0), (dx * k, 0), (0, 0)), mode="edge")[:, : rgb.shape[1]] for k in range(steps)]


def test_tracker_follows_the_chosen_person_and_marks_missing_frames(two_people):
    frames = _moving(two_people, 5)
    blank = np.full_like(two_people, 127)
    seq = frames[:3] + [blank, blank] + frames[3:]
    tracks = {}
    for person in (None, 1):
        with PersonTracker(person=person) as tr:
            tracks[person] = [tr.step(f) for f in seq]
            notes = tr.notes
        assert notes and "people in the first frame" in notes[0]
        got = tracks[person]
        assert got[3] is None and got[4] is None  # nobody there: missing, nothing invented
        assert all(o is not None for i, o in enumerate(got) if i not in (3, 4)), [o is None for o in got]
        start = got[0].box
        for k, o in zip([0, 1, 2, None, None, 3, 4], got):  # the same person, moved by 4 px a frame
            if o is not None:
                moved = start + np.float32([4 * k, 0, 4 * k, 0])
                assert box_iou(o.box, moved) > 0.5, (person, k, o.box, moved)
    assert box_iou(tracks[None][0].box, tracks[1][0].box) < 0.3  # the largest is the left one: different people


# ------------------------------------------------------------------------------------- temporal fitting
def _motion(t):
    """A smooth known motion of T frames: pose [T,24,3] (camera frame root), transl [T,3]."""
    from inference.body.skeleton import JOINT_INDEX as J

    s = np.linspace(0, 1, t)
    pose = np.zeros((t, 24, 3))
    pose[:, 0] = [np.pi, 0.0, 0.0]  # upright, facing the camera
    pose[:, J["left_shoulder"], 2] = 0.3 + 0.8 * s
    pose[:, J["right_elbow"], 1] = 0.2 + 1.0 * s
    pose[:, J["left_knee"], 0] = 0.8 * np.sin(np.pi * s)
    pose[:, J["left_hip"], 0] = -0.6 * np.sin(np.pi * s)
    transl = np.stack([0.2 * s, 0.1 + 0 * s, 3.0 + 0.2 * s], 1)
    return pose, transl


def _observe(model, pose, transl, cam, noise_px=2.0, seed=0):
    from inference.keypoint_map import KeypointMap

    out = model(pose, np.zeros((len(pose), model.num_betas)), transl)
    joints = out.joints.double().numpy()
    kmap = KeypointMap(model.joint_names)
    kp, world = np.zeros((len(pose), 33, 3)), np.zeros((len(pose), 33, 3))
    for j, row in zip(kmap.joint_index, kmap.mp_matrix):
        for m in np.flatnonzero(row):
            x, y, z = joints[:, j].T
            kp[:, m] = np.stack([cam[0] * x / z + cam[2], cam[1] * y / z + cam[3], np.full(len(z), 0.95)], 1)
            world[:, m] = joints[:, j]
    world -= 0.5 * (world[:, 23:24] + world[:, 24:25])  # MediaPipe: hip-centred
    rng = np.random.default_rng(seed)
    kp[..., :2] += rng.normal(0, noise_px, kp[..., :2].shape) * (kp[..., 2:] > 0)
    world += rng.normal(0, 0.01, world.shape)
    return kp, world, joints[:, :24]


@pytest.fixture(scope="module")
def tiny_model(tiny_data):
    from inference.body import BodyModel

    return BodyModel(tiny_data)


def test_temporal_fit_is_accurate_and_smoother_than_per_frame(tiny_model):
    from inference.motion_metrics import jitter
    from inference.sequence_fit import fit_chunk

    cam = np.array([800.0, 800.0, 320.0, 240.0])
    pose, transl = _motion(24)
    kp, world, truth = _observe(tiny_model, pose, transl, cam)
    runs = {}
    for temporal in (True, False):
        joints, prev, betas = [], None, None
        for a in (0, 12):  # two chunks: the second warm-started from the first's last frame
            r = fit_chunk(tiny_model, kp[a:a + 12], cam, world[a:a + 12], np.ones(12, bool), 30.0, betas=betas,
                          prev=prev, temporal=temporal)
            joints.append(r.joints)
            prev, betas = (r.pose[-1], r.transl[-1]), r.betas
        runs[temporal] = np.concatenate(joints)
    err = {k: np.linalg.norm(j - truth, axis=-1).mean() for k, j in runs.items()}
    jit = {k: jitter(j, 30.0) for k, j in runs.items()}
    assert err[True] < 0.06, err  # metres, with 2 px noise and a 3 m distance
    assert err[True] < err[False] + 0.015, err  # the smoothness prior costs about a centimetre here
    assert jit[True] < 0.5 * jit[False], jit
    steps = np.linalg.norm(np.diff(runs[True], axis=0), axis=-1).mean(1)  # mean joint step per frame
    assert steps[11] < 3 * np.median(steps), steps  # the chunks join without a jump


def test_gap_frames_are_carried_by_the_temporal_terms(tiny_model):
    from inference.sequence_fit import fit_chunk

    cam = np.array([800.0, 800.0, 320.0, 240.0])
    pose, transl = _motion(16)
    kp, world, truth = _observe(tiny_model, pose, transl, cam, seed=1)
    seen = np.ones(16, bool)
    seen[6:9] = False
    kp[~seen] = 0.0  # nothing observed there
    r = fit_chunk(tiny_model, kp, cam, world, seen, 30.0)
    gap_err = np.linalg.norm(r.joints[~seen] - truth[~seen], axis=-1).mean()
    assert gap_err < 0.08, gap_err


def test_keypoint_joints_give_the_smpl_joints_of_the_same_chain(tiny_model):
    """with_smpl_joints: the keypoint joints of __call__ and the model's own SMPL joints (smplx's skinning)."""
    import torch

    from inference.fit import KeypointJoints
    from inference.keypoint_map import KeypointMap
    from inference.rotations import axis_angle_to_matrix

    pose, transl = _motion(5)
    betas = np.random.default_rng(3).normal(0, 0.5, (5, tiny_model.num_betas))
    f = lambda a: torch.as_tensor(a, dtype=tiny_model.dtype)  # noqa: E731
    kj = KeypointJoints(tiny_model, KeypointMap(tiny_model.joint_names))
    kp_j, smpl_j = kj.with_smpl_joints(axis_angle_to_matrix(f(pose)), f(betas), f(transl))
    out = tiny_model.forward(f(pose), f(betas), f(transl))
    np.testing.assert_allclose(smpl_j.numpy(), out.joints[:, :24].numpy(), atol=1e-5)
    np.testing.assert_allclose(kp_j.numpy(), kj(axis_angle_to_matrix(f(pose)), f(betas), f(transl)).numpy())


def test_chunk_fit_poses_the_body_once_per_step(tiny_model, monkeypatch):
    """The chunk fit's cost is its kinematic chains: one per step of the full stage (the keypoint joints and the
    acceleration term's SMPL joints from the same chain), none per step of the first stage (root and translation
    only: the body posed once, then turned rigidly). It used to pose the body twice per step, in both stages."""
    from inference import fit as fit_module
    from inference.body import kinematics
    from inference.sequence_fit import SequenceOptions, fit_chunk

    calls = {"chain": 0, "rigid": 0}
    chain, rigid = fit_module.KeypointJoints.chain, kinematics.rigid_joints

    def counted_chain(self, *a):
        calls["chain"] += 1
        return chain(self, *a)

    def counted_rigid(*a):
        calls["rigid"] += 1
        return rigid(*a)

    monkeypatch.setattr(fit_module.KeypointJoints, "chain", counted_chain)
    monkeypatch.setattr(kinematics, "rigid_joints", counted_rigid)
    cam = np.array([800.0, 800.0, 320.0, 240.0])
    pose, transl = _motion(8)
    kp, world, _ = _observe(tiny_model, pose, transl, cam)
    first = fit_chunk(tiny_model, kp[:4], cam, world[:4], np.ones(4, bool), 30.0)
    calls.update(chain=0, rigid=0)
    fit_chunk(tiny_model, kp[4:], cam, world[4:], np.ones(4, bool), 30.0, betas=first.betas,
              prev=(first.pose[-1], first.transl[-1]), options=SequenceOptions(steps_global=10, steps_full=20))
    assert calls["rigid"] == 0, calls
    assert calls["chain"] <= 20 + 3, calls  # the full stage's steps, plus the start, the first stage's, the end
