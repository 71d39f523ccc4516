"""A person cut by the picture's edge (inference.cropped and its use by the photo fit): keypoints MediaPipe guessed
outside the picture are not evidence. Synthetic bodies with known joints (the tiny body seen by a pinhole)."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from inference.body import BodyModel, tiny_model
from inference.body.skeleton import JOINT_INDEX as J
from inference.cropped import outside_picture, unseen_targets
from inference.fit import FitOptions, fit_keypoints
from inference.keypoint_map import MP, KeypointMap
from tests.keypoint_scenes import mediapipe_observation

W, H, F = 480, 360, 600.0
SHIN = ("right_knee", "right_ankle")


@pytest.fixture(scope="module")
def model():
    return BodyModel(tiny_model())


def _angle(u, v):
    return float(np.degrees(np.arccos(np.clip(u @ v / np.linalg.norm(u) / np.linalg.norm(v), -1.0, 1.0))))


def _bone(points, a, b, index):
    return points[index[b]] - points[index[a]]


def _scene(model, knee_row, size=(W, H)):
    """The tiny body standing at 3 m, turned 20°, knees a little bent, shifted so that its right knee projects at
    row `knee_row` of a picture of `size` (focal F, principal point at the centre) → keypoints [33,3] (visibility 0.9),
    hip-centred world landmarks [33,3] (true), its 24 joints [24,3] (camera frame)."""
    pose = np.zeros((24, 3))
    pose[0] = (Rotation.from_euler("y", 20, degrees=True) * Rotation.from_rotvec([np.pi, 0, 0])).as_rotvec()
    for side in ("left", "right"):
        pose[J[f"{side}_hip"]] = [-0.15, 0.0, 0.0]
        pose[J[f"{side}_knee"]] = [0.25, 0.0, 0.0]
    pose[J["left_shoulder"]] = [0.0, 0.0, -1.2]
    pose[J["right_shoulder"]] = [0.0, 0.0, 1.2]

    def joints_at(transl):
        with torch.no_grad():
            out = model(pose[None], np.zeros((1, model.num_betas)), np.asarray(transl)[None]).joints[0]
        return out.double().numpy()

    j = joints_at([0.0, 0.0, 3.0])
    knee = j[J["right_knee"]]
    ty = (knee_row - size[1] / 2) * knee[2] / F - knee[1]
    joints = joints_at([0.0, ty, 3.0])
    kp, world = mediapipe_observation(model.joint_names, joints, F, size, 0.9)
    return kp, world, joints[:24]


def _cam(size=(W, H)):
    return np.array([[F, F, size[0] / 2, size[1] / 2]])


def test_outside_picture_and_the_targets_it_leaves_unseen(model):
    kp = np.array([[10.0, 10.0], [-0.5, 10.0], [W, 10.0], [10.0, H - 0.01], [10.0, H], [np.nan, 5.0]])
    assert outside_picture(kp, (W, H)).tolist() == [False, True, True, False, True, True]
    kmap = KeypointMap(model.joint_names)
    lm = np.tile([W / 2, H / 2, 0.9], (1, 33, 1))
    assert unseen_targets(kmap, lm, (W, H)) is None  # everybody inside: nothing changes
    assert unseen_targets(kmap, lm, None) is None
    lm[0, MP["left_index"]] = [W / 2, H + 40, 0.9]  # one of the two landmarks the hand target averages
    lm[0, MP["right_ankle"]] = [W + 5, H / 2, 0.9]  # out at the side
    lm[0, MP["left_foot_index"]] = [W / 2, H + 10, 0.9]  # out below
    unseen, below = unseen_targets(kmap, lm, (W, H))
    names = kmap.names
    assert {names[i] for i in np.flatnonzero(unseen[0])} == {"left_hand", "right_ankle", "left_foot"}
    # the hand target (the mean of index and pinky: 3H/4 + 20) lies inside; the ankle left at the side
    assert {names[i] for i in np.flatnonzero(below[0])} == {"left_foot"}


def test_a_leg_below_the_picture_hangs_instead_of_following_a_wrong_guess(model):
    """The picture ends below the knees. MediaPipe-like evidence for the right shin outside it: world landmarks that
    stretch it forward towards the camera (70° off the truth) and a 2D ankle guessed where that shin would
    project, short of the true one and below the frame, with a visibility of 0.6. Fitted as before (no picture
    size), the shin follows the guess; fitted knowing the picture, it hangs and lands far nearer the truth."""
    kp, world, truth = _scene(model, knee_row=0.9 * H)
    assert kp[MP["right_knee"], 1] < H < kp[MP["right_ankle"], 1]  # the knee in, the ankle out
    knee_w = world[MP["right_knee"]]
    shin_len = np.linalg.norm(world[MP["right_ankle"]] - knee_w)
    guess = knee_w + shin_len * np.array([0.0, 0.35, -1.0]) / np.linalg.norm([0.0, 0.35, -1.0])
    wrong = world.copy()
    wrong[MP["right_ankle"]] = guess
    hips_cam = truth[[J["left_hip"], J["right_hip"]]].mean(0)
    g = guess + hips_cam  # the guess in the camera frame: its 2D, as MediaPipe's 2D agrees with its 3D
    kp = kp.copy()
    kp[MP["right_ankle"]] = [F * g[0] / g[2] + W / 2, F * g[1] / g[2] + H / 2, 0.6]
    assert kp[MP["right_ankle"], 1] >= H  # still out of the picture
    true_shin = _bone(truth, *SHIN, J)
    off = _angle(guess - knee_w, true_shin)
    assert off > 60
    names = {n: i for i, n in enumerate(KeypointMap(model.joint_names).names)}  # FitResult.joints' order

    def fitted_shin(**kw):
        res = fit_keypoints(model, kp[None], _cam(), world=wrong[None], **kw)
        return _angle(_bone(res.joints[0], *SHIN, names), true_shin)

    before, after = fitted_shin(), fitted_shin(image_size=(W, H), options=FitOptions(outside_unseen=True))
    assert fitted_shin(image_size=(W, H)) == before  # off by default: the picture's size alone changes nothing
    assert before > 0.5 * off  # the old fit goes half the way to the wrong guess or more
    assert after < 0.4 * off and after < before - 20  # the new one hangs near the truth


def test_everything_inside_the_picture_fits_exactly_as_before(model):
    """Where no keypoint lies outside the picture, giving its size changes nothing, bit for bit."""
    size = (W, 2 * H)
    kp, world, _ = _scene(model, knee_row=0.6 * size[1], size=size)
    assert not outside_picture(kp, size).any()
    kp = kp.copy()
    kp[MP["left_wrist"], 2] = 0.1  # a hidden limb inside the picture keeps the hidden-limb weights
    a = fit_keypoints(model, kp[None], _cam(size), world=world[None])
    b = fit_keypoints(model, kp[None], _cam(size), world=world[None], image_size=size,
                      options=FitOptions(outside_unseen=True))
    for field in ("pose", "betas", "transl", "joints", "loss"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
