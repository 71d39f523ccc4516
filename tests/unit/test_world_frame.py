"""Fitted bodies seen by a moving or tilted camera → one grounded, upright world (inference.world_frame).

The clips are generated: a person standing at several spots of a floor (known world motion), seen by a camera
whose turn per frame is known; each frame's body is expressed in that frame's camera (what the per-frame fit
gives), and place_in_world must give the world motion back: still where the person is still, upright, feet on
the floor.
"""

from __future__ import annotations

import numpy as np
import pytest

from inference.conventions import CAMERA_TO_WORLD
from inference.results import reframe
from tests.camera_scenes import euler

FPS = 30.0
EYE = 1.5  # m: the camera's height above the floor


@pytest.fixture(scope="module")
def model():
    from inference.body.load import body_model, load_body

    return body_model(load_body("open"), "cpu")


def _spots(t):
    """Stop and go between spots on the floor (x, z): 20 frames still, 8 frames moving, 2 m to 5 m away."""
    spots = np.array([[0.0, -3.0], [1.0, -4.0], [-1.0, -5.0], [0.5, -3.5], [-0.5, -4.5], [0.0, -3.0]])
    path = []
    for a, b in zip(spots[:-1], spots[1:]):
        path += [a] * 20 + [a + (b - a) * (i + 1) / 8 for i in range(8)]
    path = np.array(path[:t])
    return path


def _world_motion(model, t):
    """A person upright on the floor (y = -EYE: the first camera at the origin), facing the camera."""
    betas = np.zeros(model.num_betas)
    pose = np.zeros((t, 24, 3))
    pose[:, 16, 2] = -1.2 + 0.2 * np.sin(np.arange(t) / 5)  # the left arm waves a little
    pose[:, 17, 2] = 1.2
    rest = model(pose[:1], betas[None], np.zeros((1, 3))).vertices.double().numpy()[0]
    xz = _spots(t)
    transl = np.stack([xz[:, 0], np.full(t, -EYE - rest[:, 1].min()), xz[:, 1]], 1)
    return pose, transl, betas


def _seen_by(model, pose, transl, betas, cam_to_world):
    """Each frame's body in that frame's camera: the world turned by the camera's world-to-camera rotation."""
    pelvis = model.data.shaped(betas)[1][0]
    return reframe(pose, transl, pelvis, rotation=np.swapaxes(cam_to_world, 1, 2))


def _placed(model, pose_c, transl_c, betas, turns):
    from inference.world_frame import place_in_world

    return place_in_world(model, pose_c, transl_c, betas, turns, FPS, smooth=0.0)


def _lowest_and_trunk(model, pose, betas, transl):
    out = model(pose, np.repeat(betas[None], len(pose), 0), transl)
    v, j = out.vertices.double().numpy(), out.joints.double().numpy()
    trunk = j[:, 12] - j[:, 0]
    angle = np.degrees(np.arccos(trunk[:, 1] / np.linalg.norm(trunk, axis=1)))
    return v[..., 1].min(axis=1), angle


def _pan_tilt(t):
    """Camera t → camera 0 turns of a camera panning 20° and tilting 8° over the clip, with 3° of roll."""
    s = np.arange(t) / max(t - 1, 1)
    return np.stack([euler(20 * s_, -8 * s_, 3 * np.sin(6 * s_)) for s_ in s])


def test_a_panning_tilting_camera_does_not_move_the_body_in_the_world(model):
    t = 20  # the person stands still at the first spot the whole time
    pose, transl, betas = _world_motion(model, t)
    turns = _pan_tilt(t)
    pose_c, transl_c = _seen_by(model, pose, transl, betas, CAMERA_TO_WORLD @ turns)
    world = _placed(model, pose_c, transl_c, betas, turns)
    assert np.ptp(world.transl, axis=0).max() < 0.01  # still to within a centimetre (the camera panned 20°)
    # ... and a still camera would have said the person moved across the image's worth of metres
    naive = _placed(model, pose_c, transl_c, betas, None)
    assert np.ptp(naive.transl, axis=0).max() > 0.5


def test_a_walking_camera_carries_its_view_and_the_body_stays_still(model):
    """The camera walks 1.1 m towards a still person while panning: each frame sees the body nearer; with the
    camera's centres (CameraTracker.motion's [T,3,4], in units of its height) the body stays put in the world,
    and the camera's path comes back in metres."""
    t = 20
    pose, transl, betas = _world_motion(model, t)
    turns = _pan_tilt(t)
    centres = np.stack([[0.1 * i / t, 0.0, -0.06 * i] for i in range(t)])  # world (Y up), from the first camera
    pose_c, transl_c = _seen_by(model, pose, transl - centres, betas, CAMERA_TO_WORLD @ turns)
    motion = np.concatenate([turns, (centres @ CAMERA_TO_WORLD / EYE)[..., None]], axis=2)  # CAMERA_TO_WORLDᵀ c
    world = _placed(model, pose_c, transl_c, betas, motion)
    assert np.ptp(world.transl, axis=0).max() < 0.03
    walked = world.camera_position - world.camera_position[0]
    # metres walked between frames 5 and 15 (the path is smoothed over ~0.15 s, which rounds its ends off)
    assert np.linalg.norm(walked[15] - walked[5]) == pytest.approx(np.linalg.norm(centres[15] - centres[5]), rel=0.1)
    turned_only = _placed(model, pose_c, transl_c, betas, turns)  # the rotations alone: the body walks
    assert np.ptp(turned_only.transl, axis=0).max() > 0.3


def test_a_camera_drifting_a_few_centimetres_is_taken_as_held_on_its_spot(model):
    """Centres that wander 10 cm (the steps' noise on a camera held in place) move neither body nor camera."""
    t = 20
    pose, transl, betas = _world_motion(model, t)
    turns = _pan_tilt(t)
    pose_c, transl_c = _seen_by(model, pose, transl, betas, CAMERA_TO_WORLD @ turns)
    wander = np.random.default_rng(1).normal(0, 0.03, (t, 3)) / EYE
    world = _placed(model, pose_c, transl_c, betas, np.concatenate([turns, wander[..., None]], axis=2))
    assert np.ptp(world.transl, axis=0).max() < 0.01
    assert np.ptp(world.camera_position, axis=0).max() < 1e-9


def test_turns_measured_from_the_background_keep_the_body_still(model):
    """The same, with the camera's turns measured by CameraTracker on rendered background frames."""
    from inference.camera_motion import CameraTracker
    from tests.camera_scenes import F, H, W, render, texture

    t = 20
    pose, transl, betas = _world_motion(model, t)
    turns = _pan_tilt(t)
    canvas = texture(seed=5)
    tracker = CameraTracker(F, W, H)
    for r in turns:
        tracker.step(render(canvas, r.T))  # frame t's camera: X_t = r_tᵀ X_0
    measured = tracker.rotations()
    pose_c, transl_c = _seen_by(model, pose, transl, betas, CAMERA_TO_WORLD @ turns)
    world = _placed(model, pose_c, transl_c, betas, measured)
    assert np.ptp(world.transl, axis=0).max() < 0.03


def test_a_tilted_camera_gives_an_upright_body_on_the_floor(model):
    """The camera looks down 12° and is rolled 10° for the whole clip (the first frame is not level): the
    floor fitted to the feet over the spots brings the body upright and the feet onto y = 0."""
    t = 140
    pose, transl, betas = _world_motion(model, t)
    tilt = np.repeat((euler(0, 0, 10) @ euler(0, -12, 0))[None], t, 0)  # camera → level camera
    cam_to_world = CAMERA_TO_WORLD @ tilt
    pose_c, transl_c = _seen_by(model, pose, transl, betas, cam_to_world)
    # as a still, level camera would see it: the body leans by the camera's tilt
    naive_pose, naive_transl = reframe(pose_c, transl_c, model.data.shaped(betas)[1][0])
    _, lean = _lowest_and_trunk(model, naive_pose, betas, naive_transl)
    assert np.median(lean) > 10
    world = _placed(model, pose_c, transl_c, betas, None)
    lowest, angle = _lowest_and_trunk(model, world.pose, betas, world.transl)
    assert np.percentile(angle, 95) < 2.0
    assert np.abs(lowest).max() < 0.02
    assert abs(world.facts["camera_height_m"] - EYE) < 0.05


def test_a_drifting_depth_is_put_back_on_the_floor_frame_by_frame(model):
    """The fitted depth drifts 15% over the clip (each frame's body slid along its camera ray, as a size error
    does): one offset for the clip leaves the feet sinking or floating; per-frame grounding puts them down."""
    t = 140
    pose, transl, betas = _world_motion(model, t)
    pose_c, transl_c = _seen_by(model, pose, transl, betas, np.repeat(CAMERA_TO_WORLD[None], t, 0))
    pelvis = model.data.shaped(betas)[1][0]
    drift = np.linspace(1.0, 1.15, t)[:, None]
    transl_c = (transl_c + pelvis) * drift - pelvis  # the pelvis moves along its ray, the image barely changes
    world = _placed(model, pose_c, transl_c, betas, None)
    lowest, _ = _lowest_and_trunk(model, world.pose, betas, world.transl)
    assert np.mean(np.abs(lowest) < 0.02) > 0.95
    # one offset for the whole clip (the old rule: the lowest point's 5th percentile as the floor) cannot
    naive_pose, naive_transl = reframe(pose_c, transl_c, pelvis)
    naive, _ = _lowest_and_trunk(model, naive_pose, betas, naive_transl)
    naive = naive - np.percentile(naive, 5)
    assert np.mean(np.abs(naive) < 0.02) < 0.5


def test_a_slow_sideways_shuffle_stays_on_its_pixels(model):
    """A person shuffling sideways at 0.25 m/s (slow enough that the feet count as planted, as a tennis player's
    do between points): removing foot sliding must not pull the body off where the image shows it. The pelvis,
    projected through the motion's camera path, lands where the per-frame fit put it (unsliding across the line
    of sight kept it where the shuffle began: 198 px off at the end)."""
    from inference.camera import CameraPath, PinholeCamera

    t = 90
    pose, transl, betas = _world_motion(model, t)
    transl[:, 0] = 0.25 * np.arange(t) / FPS  # sideways, 3 m in front of the camera
    transl[:, 2] = -3.0
    cam_to_world = np.repeat(CAMERA_TO_WORLD[None], t, 0)
    pose_c, transl_c = _seen_by(model, pose, transl, betas, cam_to_world)
    world = _placed(model, pose_c, transl_c, betas, None)
    k = PinholeCamera(800.0, 800.0, 320.0, 240.0, 640.0, 480.0)
    pelvis_c = model(pose_c, np.repeat(betas[None], t, 0), transl_c).joints.double().numpy()[:, :1]
    pelvis_w = model(world.pose, np.repeat(betas[None], t, 0), world.transl).joints.double().numpy()[:, :1]
    seen = k.project(pelvis_c)[:, 0]
    drawn = CameraPath(world.camera_rotation, world.camera_position, k).project(pelvis_w)[:, 0]
    assert np.abs(drawn - seen)[:, 0].max() < 2.0  # px across: where the image put it
    # up and down a little: the depth pinned along the line of sight (which turns 14° as the person crosses)
    # moves the body's projection toward the horizon by a few pixels
    assert np.abs(drawn - seen)[:, 1].max() < 12.0


def test_frames_sunk_into_the_floor_are_lifted_back_smoothly():
    """A walk whose lowest point dips 6 cm under the floor for a few frames (a step the depth got wrong): the
    lift brings every frame to within 2 cm of the floor, leaves the frames far from the dip alone, and adds no
    jump bigger than the dip's own slope."""
    from inference.world_frame import SINK_KEPT, lift_out_of_floor

    low = np.zeros(60)
    low[20:26] = -np.array([0.02, 0.05, 0.06, 0.06, 0.04, 0.01])
    lift = lift_out_of_floor(low, FPS)
    assert (low + lift >= -SINK_KEPT - 1e-9).all()
    assert np.abs(lift[:13]).max() == 0 and np.abs(lift[32:]).max() == 0
    assert np.abs(np.diff(low + lift)).max() <= np.abs(np.diff(low)).max()


def test_a_travelling_cameras_noise_stays_out_of_the_bodys_path(model):
    """A person walking at 1.2 m/s, 4-5 m from a camera that dollies beside them; the camera's measured turns
    are off by ~0.15° a frame and its centres by ~1 cm, the fitted depth by ~1% (what the tracker and the
    per-frame fit give). Carried along the camera's rays, that noise would shake the body's path: the root's
    acceleration error against the clean walk must stay small (c332a15, a forward One-Euro filter before the
    camera's centres and depth were applied and nothing after: 28 m/s² here; now 1.6)."""
    from inference.motion_metrics import accel_error

    t, rng = 90, np.random.default_rng(7)
    s = np.arange(t) / FPS
    pose, transl, betas = _world_motion(model, t)
    pose[:, 16:18] = 0.0
    transl[:, 0], transl[:, 2] = -1.5 + 1.2 * s, -4.5 + 0.3 * s  # walking across the view
    centres = np.stack([-1.5 + 1.1 * s, np.zeros(t), 0.05 * np.sin(s)], 1)  # the dolly, level with the first view
    turns = np.stack([euler(5 * np.sin(2 * s_), -3 * s_, 2 * np.sin(3 * s_)) for s_ in s])  # camera t → camera 0
    seen_turns = np.stack([r @ euler(*rng.normal(0, 0.15, 3)) for r in turns])
    pose_c, transl_c = _seen_by(model, pose, transl - centres, betas, CAMERA_TO_WORLD @ turns)
    pelvis = model.data.shaped(betas)[1][0]
    transl_c = (transl_c + pelvis) * (1 + rng.normal(0, 0.01, (t, 1))) - pelvis  # depth noise, along the rays
    seen_centres = centres + rng.normal(0, 0.01, (t, 3))
    motion = np.concatenate([seen_turns, (seen_centres @ CAMERA_TO_WORLD / EYE)[..., None]], axis=2)
    world = place_in_world_for_test(model, pose_c, transl_c, betas, motion)
    got = model(world.pose, np.repeat(betas[None], t, 0), world.transl).joints.double().numpy()[:, :1]
    true = model(pose, np.repeat(betas[None], t, 0), transl).joints.double().numpy()[:, :1]
    err = accel_error(got, true, FPS)
    assert err < 2.0  # m/s² (the truth walks at constant speed: its own is 0)
    # and not by flattening the walk: it still covers its 3.6 m (to 5%)
    walked = np.linalg.norm(got[-1, 0, [0, 2]] - got[0, 0, [0, 2]])
    assert walked == pytest.approx(np.linalg.norm(true[-1, 0, [0, 2]] - true[0, 0, [0, 2]]), rel=0.05)


def place_in_world_for_test(model, pose_c, transl_c, betas, turns):
    """place_in_world with the default smoothing strength (0.5), as the video CLI runs it."""
    from inference.world_frame import place_in_world

    return place_in_world(model, pose_c, transl_c, betas, turns, FPS)


def _stepping_walk(model, t=90):
    """A person walking across the view (hips swinging ±23°, a step every 0.5 s, 1.4 m/s), 4 m in front of the
    first camera, the root moving exactly as the planted foot pushes it (so the planted foot does not slide):
    → (pose, root, betas, planted [T,4] for the ankles and feet, world_frame.FOOT_JOINTS' order)."""
    betas = np.zeros(model.num_betas)
    pose = np.zeros((t, 24, 3))
    pose[:, 1, 0] = 0.4 * np.sin(2 * np.pi / 30 * np.arange(t))  # left hip, right hip: opposite swings
    pose[:, 2, 0] = -pose[:, 1, 0]
    pose[:, 0, 1] = np.pi / 2  # facing +x: across the camera's view
    out = model(pose, np.repeat(betas[None], t, 0), np.zeros((t, 3)))
    joints, verts = out.joints.double().numpy(), out.vertices.double().numpy()
    ankle_vx = np.gradient(joints[:, [7, 8], 0] - joints[:, :1, 0], axis=0)
    side = np.where(ankle_vx[:, 0] < ankle_vx[:, 1], 0, 1)  # the foot moving back relative to the pelvis
    root = np.zeros((t, 3))
    root[1:, 0] = np.cumsum(-ankle_vx[np.arange(t), side][1:])  # carried by it: that foot stays put
    root[:, 1] = -EYE - verts[..., 1].min()
    root[:, 2] = -4.0
    planted = np.zeros((t, 4), bool)
    planted[np.arange(t), side] = planted[np.arange(t), side + 2] = True
    return pose, root, betas, planted


def _skate(model, pose, transl, betas, planted):
    t = len(pose)
    feet = model(pose, np.repeat(betas[None], t, 0), transl).joints.double().numpy()[:, [7, 8, 10, 11]]
    step = np.linalg.norm(np.diff(feet[..., [0, 2]], axis=0), axis=-1)
    return step[planted[1:] & planted[:-1]].mean()


def test_a_walk_whose_fitted_depth_slides_keeps_its_planted_feet_still(model):
    """The stepping walk fitted at a depth that slides by a random walk of 1.5 cm a frame along a still
    camera's ray (the image fixes the rest). On the truth's planted frames the placed feet slide no more than
    the truth's own (6 mm/frame, this generator's foot switch): the contacts come from the pose; judged from
    the sliding world feet alone they slid ~9 mm/frame."""
    pose, root, betas, planted = _stepping_walk(model)
    ray = root / np.linalg.norm(root, axis=1, keepdims=True)  # the camera (still, at the origin) → the body
    slid = root + np.cumsum(np.random.default_rng(0).normal(0, 0.015, len(root)))[:, None] * ray
    pose_c, transl_c = _seen_by(model, pose, slid, betas, np.repeat(CAMERA_TO_WORLD[None], len(root), 0))
    world = _placed(model, pose_c, transl_c, betas, None)
    assert _skate(model, pose, slid, betas, planted) > 0.014  # the slide
    assert _skate(model, world.pose, world.transl, betas, planted) < _skate(model, pose, root, betas, planted) + 0.002


def test_a_travelling_cameras_walk_keeps_its_planted_feet_still_on_the_floor(model):
    """The stepping walk seen from a camera that travels beside it (CameraTracker.motion's centres), the body's
    place sliding by 1.2 cm a frame in any direction on the floor (what the camera's measured centres and turns
    bring): the planted feet are pinned in full 2D, their slide drops to 9 mm/frame from 15 (the truth's own: 6;
    unsliding from the world feet along the line of sight left 19)."""
    pose, root, betas, planted = _stepping_walk(model)
    t = len(root)
    centres = np.stack([root[:, 0] - root[0, 0], np.zeros(t), np.zeros(t)], 1)  # world (Y up), keeping pace
    slid = root + np.cumsum(np.random.default_rng(1).normal(0, 0.012, (t, 3)), axis=0) * [1.0, 0.0, 1.0]
    pose_c, transl_c = _seen_by(model, pose, slid - centres, betas, np.repeat(CAMERA_TO_WORLD[None], t, 0))
    motion = np.concatenate([np.repeat(np.eye(3)[None], t, 0), (centres @ CAMERA_TO_WORLD / EYE)[..., None]], 2)
    world = _placed(model, pose_c, transl_c, betas, motion)
    slide = _skate(model, pose, slid, betas, planted)
    assert slide > 0.012
    assert _skate(model, world.pose, world.transl, betas, planted) < 0.75 * slide


def test_a_walk_whose_fitted_depth_drifts_stays_on_the_floor(model):
    """The stepping walk fitted at a depth that, after its first second, drifts 25% towards a still camera (a
    size error that grows): there the planted foot moves with the drift, so the world feet are not still and
    the depth was corrected from the first second only, leaving the walk floating 8.5 cm by its end (on the
    floor in 67% of frames). The foot the pose says carries the body (inference.stance) grounds every frame."""
    pose, root, betas, _ = _stepping_walk(model)
    t = len(root)
    pelvis = model.data.shaped(betas)[1][0]
    pose_c, transl_c = _seen_by(model, pose, root, betas, np.repeat(CAMERA_TO_WORLD[None], t, 0))
    drift = np.interp(np.arange(t), [0, 30, t - 1], [1.0, 1.0, 0.75])[:, None]
    transl_c = (transl_c + pelvis) * drift - pelvis  # the pelvis moves along its ray: the image barely changes
    world = _placed(model, pose_c, transl_c, betas, None)
    lowest, _ = _lowest_and_trunk(model, world.pose, betas, world.transl)
    assert np.mean(np.abs(lowest) < 0.03) > 0.95, np.round(lowest[::10], 3)
    assert abs(lowest[-10:].mean()) < 0.02
