"""Motion import in Blender (issue 14): a one-frame motion animates with one key; every malformed, non-finite or
oversized motion file is one error report and leaves the scene as it was; a long motion costs a few KB a frame."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import hostile_files as hostile  # noqa: E402

from inference.body import tiny_model  # noqa: E402


def _scene_state():
    import bpy

    return {kind: sorted(x.name for x in getattr(bpy.data, kind))
            for kind in ("objects", "actions", "armatures", "meshes", "collections")}


def _key_counts(action, arm):
    from bodyrig.operators.blender_compat import action_fcurves

    return [len(fc.keyframe_points) for fc in action_fcurves(action, arm)]


def test_a_one_frame_motion_animates_with_one_key():
    import bpy

    from bodyrig.operators.animate import animate
    from bodyrig.operators.rig import build_character
    from bodyrig.operators.pose import read_pose

    char = build_character(tiny_model())
    pose = np.zeros((1, 24, 3))
    pose[0, 1] = [0.4, 0.0, 0.2]
    action = animate(char, pose, np.array([[0.1, 0.0, 0.2]]), fps=30)
    assert _key_counts(action, char.armature) == [1] * (24 * 4 + 3)
    scene = bpy.context.scene
    assert scene.frame_start == scene.frame_end == 1
    back, back_t = read_pose(char, frame=1)
    np.testing.assert_allclose(back[1], pose[0, 1], atol=1e-5)
    np.testing.assert_allclose(back_t, [0.1, 0.0, 0.2], atol=1e-6)


@pytest.mark.parametrize("suffix", [".npz", ".smpl"])
def test_one_frame_motion_files_import(operators_on, tmp_path, suffix):
    """The batch's own photo .npz is one frame; so is a one-frame .smpl."""
    import bpy

    from inference.motion_io import save_motion
    from inference.results import MotionFit

    m = MotionFit(pose=np.full((1, 24, 3), 0.1), transl=np.zeros((1, 3)), betas=np.zeros(10), fps=30)
    path = save_motion(m, tmp_path / f"one{suffix}")
    assert bpy.ops.bodyrig.import_motion(filepath=str(path)) == {"FINISHED"}
    arm = bpy.context.view_layer.objects.active
    assert _key_counts(arm.animation_data.action, arm) == [1] * (24 * 4 + 3)
    assert bpy.ops.bodyrig.import_motion(filepath=str(path), target="SELECTED") == {"FINISHED"}


def _hostile_motions(tmp_path):
    cases = {name: (lambda p, make=make: make(p)) for name, make in hostile.MOTION_CASES.items()}
    for key in hostile.NONFINITE_FIELDS:
        cases[f"nan_{key}"] = lambda p, key=key: hostile.nonfinite_motion(p, key)
    cases["long"] = lambda p: hostile.long_zero_motion(p, frames=2_000_000)
    return cases


ALL_CASES = sorted(list(hostile.MOTION_CASES) + [f"nan_{k}" for k in hostile.NONFINITE_FIELDS] + ["long"])


@pytest.mark.parametrize("case", ALL_CASES + ["empty_smpl"])
def test_a_bad_motion_file_is_one_report_and_the_scene_is_unchanged(operators_on, tmp_path, case):
    import bpy

    if case == "empty_smpl":
        path = hostile.smpl_file(tmp_path / "empty_smpl.smpl", frames=0, frame_count=0)
    else:
        path = _hostile_motions(tmp_path)[case](tmp_path / f"{case}.npz")
    before = _scene_state()
    with pytest.raises(RuntimeError) as err:  # headless bpy turns an ERROR report into RuntimeError
        bpy.ops.bodyrig.import_motion(filepath=str(path))
    msg = str(err.value)
    assert path.name in msg and "internal error" not in msg and "Traceback" not in msg
    assert _scene_state() == before


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def test_a_long_motion_costs_a_few_kb_per_frame(operators_on, tmp_path):
    """Importing 30,000 frames. BodyRig's own arrays (numpy, seen by tracemalloc) stay under a few KB per frame
    at their peak: no per-frame Python objects. What the process keeps is Blender's: 99 keyed channels of about
    77 bytes a key, kept twice (the action and the depsgraph's evaluated copy): ~15 KB per frame."""
    import tracemalloc

    import bpy

    t = 30_000
    rng = np.random.default_rng(0)
    path = tmp_path / "long.npz"
    np.savez(path, poses=rng.normal(0, 0.3, (t, 72)), trans=rng.normal(0, 1, (t, 3)), betas=np.zeros(10),
             mocap_framerate=np.array(60.0))
    assert bpy.ops.bodyrig.import_motion(filepath=str(path)) == {"FINISHED"}  # warm: the rig, the imports
    rss0 = _rss_bytes()
    tracemalloc.start()
    assert bpy.ops.bodyrig.import_motion(filepath=str(path)) == {"FINISHED"}
    own_peak = tracemalloc.get_traced_memory()[1] / t
    tracemalloc.stop()
    held = (_rss_bytes() - rss0) / t
    print(f"long motion: BodyRig's arrays peak at {own_peak:.0f} B/frame; the process keeps {held:.0f} B/frame")
    assert own_peak < 4_000, own_peak
    assert held < 2 * 99 * 80 + 2_000, held
