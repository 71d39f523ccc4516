"""animate(): one Action keyed in bulk, exact at the keys, continuous quaternions, the source's frame rate."""

from __future__ import annotations

import numpy as np
import pytest

from inference.body import tiny_model
from inference.body.skeleton import SMPL_JOINT_NAMES
from inference.errors import BadInputError
from inference.rotations import axis_angle_to_matrix, axis_angle_to_quaternion, matrix_to_axis_angle

from tests.blender.rig_helpers import evaluated_body_vertices, reference_vertices

T = 100


def _motion(t=T, seed=3):
    """pose [t,24,3], transl [t,3]: smooth random joint motion, and a pelvis spinning 2 turns about Y whose
    axis-angle is wrapped into [0, π] (as files store it), so raw quaternions flip sign along the way."""
    rng = np.random.default_rng(seed)
    time = np.linspace(0, 1, t)[:, None, None]
    amp, freq, phase = rng.uniform(0.2, 1.2, (1, 24, 3)), rng.uniform(0.5, 2, (1, 24, 3)), rng.uniform(0, 6, (1, 24, 3))
    pose = amp * np.sin(2 * np.pi * freq * time + phase)
    angle = np.linspace(0, 4 * np.pi, t)
    c, s = np.cos(angle), np.sin(angle)
    rot_y = np.zeros((t, 3, 3))
    rot_y[:, 0, 0], rot_y[:, 0, 2], rot_y[:, 1, 1], rot_y[:, 2, 0], rot_y[:, 2, 2] = c, s, 1, -s, c
    pose[:, 0] = matrix_to_axis_angle(rot_y)
    transl = np.stack([np.linspace(0, 2, t), 0.1 * np.sin(np.linspace(0, 6, t)), np.linspace(0, -1, t)], 1)
    return pose, transl


def _quat_keys(action, arm, name):
    from bodyrig.operators.blender_compat import find_fcurve

    path = arm.pose.bones[name].path_from_id("rotation_quaternion")
    cols = []
    for i in range(4):
        fc = find_fcurve(action, arm, path, i)
        co = np.empty(2 * len(fc.keyframe_points), dtype=np.float32)
        fc.keyframe_points.foreach_get("co", co)
        cols.append(co[1::2])
    return np.stack(cols, -1), co[0::2]


def test_animation_exact_at_keys_with_ntsc_rate():
    import bpy

    from bodyrig.operators.animate import animate
    from bodyrig.operators.blender_compat import action_fcurves
    from bodyrig.operators.rig import build_character

    data = tiny_model(pose_correctives=True)
    betas = np.array([1.0, -0.5, 0.3])
    char = build_character(data, betas=betas)
    pose, transl = _motion()
    action = animate(char, pose, transl, fps=29.97, start_frame=1)
    scene = bpy.context.scene
    assert (scene.render.fps, scene.render.fps_base) == (30, pytest.approx(1.001))
    assert (scene.frame_start, scene.frame_end) == (1, T)
    assert char.armature.animation_data.action == action
    curves = action_fcurves(action, char.armature)
    assert len(curves) == 24 * 4 + 3 and all(len(fc.keyframe_points) == T for fc in curves)

    frames = [1, 2, 37, 64, T]
    ref = reference_vertices(data, pose[np.array(frames) - 1], betas, transl[np.array(frames) - 1])
    for k, frame in enumerate(frames):
        scene.frame_set(frame)
        err = np.abs(evaluated_body_vertices(char.mesh) - ref[k]).max()
        assert err < 1e-5, f"frame {frame}: evaluated mesh off by {err:.3g} m"
    # An animated rig reads back per frame (what the exporters rely on).
    from bodyrig.operators.pose import read_pose

    back, back_t = read_pose(char, frame=37)
    np.testing.assert_allclose(axis_angle_to_matrix(back), axis_angle_to_matrix(pose[36]), atol=1e-5)
    np.testing.assert_allclose(back_t, transl[36], atol=1e-6)


def test_quaternions_continuous_and_interpolation_modes():
    from bodyrig.operators.animate import animate
    from bodyrig.operators.rig import build_character

    char = build_character(tiny_model())
    pose, transl = _motion()
    raw = axis_angle_to_quaternion(pose[:, 0])
    assert ((raw[1:] * raw[:-1]).sum(-1) < 0).any(), "the test motion should contain sign flips"
    action = animate(char, pose, transl, fps=25, interpolation="BEZIER", start_frame=10, action_name="Walk")
    assert action.name == "Walk"
    for name in SMPL_JOINT_NAMES:
        q, frames = _quat_keys(action, char.armature, name)
        assert ((q[1:] * q[:-1]).sum(-1) > 0).all(), f"{name}: quaternion sign flips between keys"
    np.testing.assert_array_equal(frames, np.arange(10, 10 + T))
    # Same rotations as the source (up to sign) at every key.
    q, _ = _quat_keys(action, char.armature, "pelvis")
    assert np.abs(np.abs((q * raw).sum(-1)) - 1).max() < 1e-5

    from bodyrig.operators.blender_compat import action_fcurves

    assert {kp.interpolation for fc in action_fcurves(action, char.armature) for kp in fc.keyframe_points} \
        == {"BEZIER"}
    linear = animate(char, pose[:5], transl[:5], fps=25, interpolation="LINEAR")
    assert char.armature.animation_data.action == linear
    assert {kp.interpolation for fc in action_fcurves(linear, char.armature) for kp in fc.keyframe_points} \
        == {"LINEAR"}
    with pytest.raises(BadInputError):
        animate(char, pose, transl, fps=25, interpolation="CUBIC")
    with pytest.raises(BadInputError):
        animate(char, pose, transl[:-1], fps=25)


@pytest.mark.parametrize("fps, want", [(25, (25, 1.0)), (30, (30, 1.0)), (29.97, (30, 1.001)),
                                       (30000 / 1001, (30, 1.001)), (23.976, (24, 1.001)),
                                       (59.94, (60, 1.001)), (12.5, (25, 2.0)), (7.5, (15, 2.0))])
def test_scene_fps_is_rational_and_exact(fps, want):
    from bodyrig.operators.animate import scene_fps

    got = scene_fps(fps)
    assert got[0] == want[0] and got[1] == pytest.approx(want[1])
    assert got[0] / got[1] == pytest.approx(fps, rel=2e-4)
