"""init_pose.occlusion_flips and its use by the photo fit: a hidden arm of a person turned away from the camera
that MediaPipe puts behind their back (towards the camera) is turned back in front of them, where the torso can
hide it. Synthetic bodies with known joints (the tiny body seen by a pinhole)."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from inference.body import BodyModel, tiny_model
from inference.body.skeleton import JOINT_INDEX as J
from inference.fit import FitOptions, fit_keypoints
from inference.init_pose import FLIPPABLE_BONES, depth_flips, inside_polygon, occlusion_flips
from inference.keypoint_map import MP, KeypointMap

W, H, F = 640, 480, 600.0
HIDDEN = ("left_elbow", "left_wrist", "left_pinky", "left_index", "left_thumb")
UPPER_ARM = FLIPPABLE_BONES.index(("left_shoulder", "left_elbow"))


@pytest.fixture(scope="module")
def model():
    return BodyModel(tiny_model())


def _scene(model, yaw_deg):
    """The tiny body at 3 m, its left arm reaching forward and a little down and in (in front of its chest),
    turned by yaw about the vertical (180: back to the camera) → keypoints [33,3] (the arm hidden: visibility
    0.1), world landmarks [33,3] (hip-centred, true depths), joints [24,3] (camera frame)."""
    pose = np.zeros((24, 3))
    pose[0] = (Rotation.from_euler("y", yaw_deg, degrees=True) * Rotation.from_rotvec([np.pi, 0, 0])).as_rotvec()
    # T-pose arm along the body's +x; R_y(-100°) swings it forward (+z) and a little across, R_z(-0.35) lowers it
    pose[J["left_shoulder"]] = (Rotation.from_rotvec([0, -1.75, 0]) * Rotation.from_rotvec([0, 0, -0.35])).as_rotvec()
    with torch.no_grad():
        joints = model(pose[None], np.zeros((1, model.num_betas)), np.array([[0.0, 0.0, 3.0]])).joints[0]
    joints = joints.double().numpy()
    kmap = KeypointMap(model.joint_names)
    kp, world = np.zeros((33, 3)), np.zeros((33, 3))
    for j, row in zip(kmap.joint_index, kmap.mp_matrix):
        for m in np.flatnonzero(row):
            x, y, z = joints[j]
            kp[m] = [F * x / z + W / 2, F * y / z + H / 2, 0.95]
            world[m] = joints[j]
    world -= 0.5 * (world[MP["left_hip"]] + world[MP["right_hip"]])
    for n in HIDDEN:
        kp[MP[n], 2] = 0.1
    return kp, world, joints[:24]


def _guessed_behind(world):
    """MediaPipe's mistake: the left upper arm's depth reversed (the arm behind the back)."""
    return depth_flips(world[None])[0, 1 + UPPER_ARM]


def _torso_depth(world):
    return world[[MP[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")], 2].mean()


def test_inside_polygon():
    square = np.array([[0, 0], [2, 0], [2, 2], [0, 2]], float)
    got = inside_polygon(np.array([[1, 1], [3, 1], [2, 1], [-0.1, 0.5]]), square[::-1])
    assert got.tolist() == [True, False, True, False]


def test_a_hidden_arm_of_a_person_turned_away_is_put_back_in_front_of_them(model):
    kp, world, _ = _scene(model, 180.0)
    elbow = world[MP["left_elbow"]]
    assert elbow[2] > _torso_depth(world) + 0.1  # the truth: the arm is beyond the torso, seen from the camera
    guess = _guessed_behind(world)
    assert guess[MP["left_elbow"], 2] < _torso_depth(guess) - 0.1  # the mistake: between the torso and the camera
    fixed, flipped = occlusion_flips(guess[None], kp[None])
    assert flipped[0].tolist() == [i == UPPER_ARM for i in range(len(FLIPPABLE_BONES))]
    np.testing.assert_allclose(fixed[0], world, atol=1e-9)


def test_nothing_changes_when_the_arm_is_seen_or_the_person_faces_the_camera(model):
    kp, world, _ = _scene(model, 180.0)
    guess = _guessed_behind(world)
    seen = kp.copy()
    seen[:, 2] = 0.95
    fixed, flipped = occlusion_flips(guess[None], seen[None])
    assert not flipped.any()
    np.testing.assert_array_equal(fixed[0], guess)
    # facing the camera, the same hidden arm reaching forward is between the torso and the camera: kept
    kp, world, _ = _scene(model, 0.0)
    assert world[MP["left_elbow"], 2] < _torso_depth(world) - 0.1
    fixed, flipped = occlusion_flips(world[None], kp[None])
    assert not flipped.any()
    np.testing.assert_array_equal(fixed[0], world)


def test_the_fit_follows_the_corrected_arm(model):
    """The hidden arm has no 2D weight, so its depth is the 3D term's: with the landmarks' mistake the fitted
    elbow ends between the torso and the camera; with the check on (the default) it ends beyond the torso."""
    kp, world, truth = _scene(model, 180.0)
    guess = _guessed_behind(world)
    cam = np.array([[F, F, W / 2, H / 2]])
    ends = {}
    for on in (False, True):
        res = fit_keypoints(model, kp[None], cam, world=guess[None], options=FitOptions(occlusion_depth=on))
        kmap = KeypointMap(model.joint_names)
        j = res.joints[0]
        ends[on] = j[kmap.names.index("left_elbow"), 2] - j[kmap.names.index("left_shoulder"), 2]
    true_dz = truth[J["left_elbow"], 2] - truth[J["left_shoulder"], 2]
    assert true_dz > 0.1
    assert ends[False] < 0 < ends[True]
    assert ends[True] == pytest.approx(true_dz, abs=0.08)


def test_world_init_sets_the_start(model):
    """With no descent steps the fit returns its starting pose: the IK of world_init, not of world."""
    kp, world, _ = _scene(model, 180.0)
    guess = _guessed_behind(world)
    cam = np.array([[F, F, W / 2, H / 2]])
    kmap = KeypointMap(model.joint_names)
    opt = FitOptions(occlusion_depth=False, steps_global=0, steps_full=0)
    dz = {}
    for name, (w, start) in {"true start": (guess, world), "wrong start": (world, guess)}.items():
        j = fit_keypoints(model, kp[None], cam, world=w[None], world_init=start[None], options=opt).joints[0]
        dz[name] = j[kmap.names.index("left_elbow"), 2] - j[kmap.names.index("left_shoulder"), 2]
    assert dz["wrong start"] < 0 < dz["true start"]
