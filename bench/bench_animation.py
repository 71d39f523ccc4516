"""Benchmark: keying a 10,000-frame motion with animate() (bulk foreach_set) vs a keyframe_insert loop.

The baseline loop (set the 24 pose bones, keyframe_insert rotation per bone and the pelvis location, per frame)
is timed on BASELINE_FRAMES frames and scaled linearly to the full length; it is the usual way add-ons key
motion. Each keyframe_insert also costs more as a curve grows, so the linear scaling flatters the
baseline. animate() is the best of REPEATS runs. Both run after a warm-up call, so torch's one-time import is not counted. Run: `.venv/bin/python -m pytest bench/bench_animation.py -m bench -s`
"""

from __future__ import annotations

import time

import numpy as np
import pytest

FRAMES = 10_000
BASELINE_FRAMES = 2_000
REPEATS = 3


def _motion(t):
    rng = np.random.default_rng(0)
    time_ = np.linspace(0, 60, t)[:, None, None]
    pose = rng.uniform(0.2, 1.0, (1, 24, 3)) * np.sin(time_ * rng.uniform(0.5, 3, (1, 24, 3)))
    transl = np.stack([np.sin(time_[:, 0, 0]), np.zeros(t), np.linspace(0, 10, t)], 1)
    return pose, transl


def _keyframe_insert_loop(arm, pose, transl):
    from inference.body.skeleton import SMPL_JOINT_NAMES
    from inference.rotations import axis_angle_to_quaternion

    quats = axis_angle_to_quaternion(pose)
    bones = [arm.pose.bones[n] for n in SMPL_JOINT_NAMES]
    for pb in bones:
        pb.rotation_mode = "QUATERNION"
    for f in range(len(pose)):
        for j, pb in enumerate(bones):
            pb.rotation_quaternion = quats[f, j]
            pb.keyframe_insert("rotation_quaternion", frame=f + 1, group=pb.name)
        bones[0].location = transl[f]
        bones[0].keyframe_insert("location", frame=f + 1, group=bones[0].name)


@pytest.mark.bench
def test_animate_vs_keyframe_insert():
    bpy = pytest.importorskip("bpy")
    from inference.body import tiny_model
    from bodyrig.operators.animate import animate
    from bodyrig.operators.blender_compat import action_fcurves
    from bodyrig.operators.rig import build_character

    bpy.ops.wm.read_factory_settings(use_empty=True)
    pose, transl = _motion(FRAMES)
    char = build_character(tiny_model(), name="Fast")
    animate(char, pose[:2], transl[:2], fps=30)  # warm-up: torch's one-time import is not keying time
    fast = float("inf")
    for _ in range(REPEATS):  # best of a few: the machine is shared
        t0 = time.perf_counter()
        action = animate(char, pose, transl, fps=30)
        fast = min(fast, time.perf_counter() - t0)
    assert all(len(fc.keyframe_points) == FRAMES for fc in action_fcurves(action, char.armature))

    slow_char = build_character(tiny_model(), name="Slow")
    t0 = time.perf_counter()
    _keyframe_insert_loop(slow_char.armature, pose[:BASELINE_FRAMES], transl[:BASELINE_FRAMES])
    slow = (time.perf_counter() - t0) * FRAMES / BASELINE_FRAMES
    ratio = slow / fast
    print(f"\nanimate(): {FRAMES} frames x 99 channels in {fast:.3f} s; keyframe_insert loop: "
          f"{slow:.1f} s (measured on {BASELINE_FRAMES} frames, scaled x{FRAMES // BASELINE_FRAMES}); "
          f"speed-up {ratio:.0f}x")
    assert fast < 2.0 and ratio > 50
