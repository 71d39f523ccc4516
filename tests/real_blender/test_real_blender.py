"""BodyRig in Debian 13's Blender 4.3.2 (Python 3.13), as a user gets it: the zip installed with Blender's
extension machinery, the dependency button (a real pip run of the 3.13 set), the File menu's imports and exports,
the batch script, and screenshots of the UI in a real window under Xvfb.

Independent references: Blender's own importers (FBX, glTF, BVH) read the exports back; pip's metadata in the
extension's folder says what was installed; the root's dpkg says which numpy the system has.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SMPL_BONES = 24


def _step(report, name):
    step = report["steps"].get(name)
    assert step is not None, f"step {name} did not run:\n{report['log'][-4000:]}"
    assert step["ok"], step.get("traceback")
    return step


def _pins(name):
    pins = {}
    for line in (REPO / "blender_addon" / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            dist, _, version = line.partition("==")
            pins[dist.lower()] = version
    return pins


def test_runs_debian_blender_on_python_313(blender_report):
    assert blender_report["blender"].startswith("4.3")
    assert blender_report["python"][:2] == [3, 13]
    assert blender_report["online_access"]  # --online-mode: the button may run pip


def test_extension_installs_from_the_zip(blender_report):
    step = _step(blender_report, "install")
    assert step["module"] == "bl_ext.user_default.bodyrig"
    assert "/extensions/user_default/bodyrig/" in step["file"]
    assert step["python_problem"] is None
    assert {k.lower(): v for k, v in step["pins"].items()} == _pins("requirements-py313.txt")
    assert not any(found for *_, found in step["status_before"])  # nothing of the set is in Debian's Blender


def test_dependency_button_installs_the_313_set(blender_report, root):
    step = _step(blender_report, "dependencies")
    assert step["result"] == ["FINISHED"] and not step["state_error"], step["log_tail"]
    assert step["done"] == "BodyRig: dependencies installed", step["done"]
    for dist, version in _pins("requirements-py313.txt").items():
        assert step["versions"].get(dist) == version, (dist, step["versions"].get(dist))
    target = step["target"]
    for module, path in step["locations"].items():
        assert path.startswith(target), (module, path)  # imported from the extension's private folder
    assert all(found for *_, found in step["status_after"])
    # numpy is the system's (Debian's python3-numpy, per dpkg), not a copy pip brought along.
    dpkg = subprocess.run(["chroot", str(root), "dpkg-query", "-W", "-f=${Version}", "python3-numpy"],
                          capture_output=True, text=True, check=True).stdout
    assert step["numpy_file"].startswith("/usr/lib/python3/dist-packages/numpy/")
    assert dpkg.split(":")[-1].startswith(step["numpy"] + "+") or dpkg.split(":")[-1].startswith(step["numpy"])
    assert step["versions"].get("numpy") in (None, step["numpy"])  # pinned to it where pip installed a copy


def test_motion_import_and_exports_read_back(blender_report):
    motion = blender_report["work"]["motion"]
    step = _step(blender_report, "import_motion")
    assert step["result"] == ["FINISHED"], step["error"]
    assert step["scene"]["armatures"] == 1 and step["scene"]["bones"] == [SMPL_BONES]
    frames = motion.pose.shape[0]
    assert step["scene"]["frame_ranges"][0][1] - step["scene"]["frame_ranges"][0][0] + 1 == frames
    exports = _step(blender_report, "export")
    for ext in ("fbx", "glb", "bvh", "npz"):
        assert exports[ext]["result"] == ["FINISHED"] and exports[ext]["size"] > 1000, (ext, exports[ext])
    back = _step(blender_report, "reimport")
    for ext in ("fbx", "glb", "bvh"):
        scene = back[ext]["scene"]
        assert back[ext]["result"] == ["FINISHED"], (ext, back[ext])
        assert scene["armatures"] == 1 and scene["bones"][0] >= SMPL_BONES, (ext, scene)
        start, end = scene["frame_ranges"][0]
        # glTF keeps seconds (Blender places them at the scene's fps); FBX and BVH keep frames.
        span = (end - start) * (motion.fps / scene["fps"] if ext == "glb" else 1.0)
        assert abs(span - (frames - 1)) < 0.05, (ext, scene["frame_ranges"], scene["fps"])
    for ext in ("fbx", "glb"):
        assert back[ext]["scene"]["skinned_meshes"], ext  # the body came along, bound to the rig
    # The .npz written in Blender 4.3 holds the motion that went in (rotations compared as matrices).
    from scipy.spatial.transform import Rotation

    from inference.motion_io import load_motion

    back_motion = load_motion(blender_report["work"]["host"] / "export.npz")
    assert back_motion.pose.shape == motion.pose.shape
    got = Rotation.from_rotvec(back_motion.pose.reshape(-1, 3)).as_matrix()
    want = Rotation.from_rotvec(motion.pose.reshape(-1, 3)).as_matrix()
    assert np.abs(got - want).max() < 1e-4


def test_photo_import_makes_the_rigged_character(blender_report):
    step = _step(blender_report, "import_photo")
    assert step["result"] == ["FINISHED"], step["error"]
    scene = step["scene"]
    assert scene["armatures"] == 1 and scene["bones"] == [SMPL_BONES]
    mesh = scene["skinned_meshes"][0]
    assert mesh["vertices"] > 5000 and mesh["groups"] >= SMPL_BONES
    assert scene["cameras"] == 1  # the photo's camera


def test_video_import_animates_a_character(blender_report):
    step = _step(blender_report, "import_video")
    clip = blender_report["work"]["clip"]
    assert step["result"] == ["FINISHED"], step["error"]
    scene = step["scene"]
    assert scene["armatures"] == 1 and scene["bones"] == [SMPL_BONES]
    start, end = scene["frame_ranges"][0]
    assert end - start + 1 == clip["frames"], (scene["frame_ranges"], clip)
    # The scene plays at the clip's own rate: render.fps / fps_base (e.g. 1551/52 for a 29.83 fps phone clip).
    assert abs(scene["fps"] - clip["fps"]) < 1e-3 * clip["fps"], (scene["fps"], clip)


def test_batch_script_in_blender(batch_run):
    code, log, out = batch_run
    assert (out / "summary.json").is_file(), log[-4000:]
    summary = json.loads((out / "summary.json").read_text())
    statuses = {Path(r["input"]).name: r["status"] for r in summary["inputs"]}
    assert statuses == {"sample_photo.jpg": "ok", "clip.mp4": "ok"}, (statuses, log[-3000:])
    assert code == 0
    names = {p.name for p in out.iterdir()}
    for stem in ("sample_photo", "clip"):
        for ext in ("blend", "fbx", "glb", "bvh", "npz"):
            assert any(n.startswith(stem) and n.endswith("." + ext) for n in names), (stem, ext, sorted(names))
    glb = next(out.glob("sample_photo*.glb")).read_bytes()
    assert glb[:4] == b"glTF"


def _not_blank(image):
    """A real UI capture: many distinct colours, not one flat (black) frame."""
    assert image.shape[0] >= 600 and image.shape[1] >= 800
    assert image.std() > 10 and len(np.unique(image.reshape(-1, 3)[::97], axis=0)) > 50


def test_gui_screenshots(gui_report):
    assert gui_report.get("finished"), json.dumps(gui_report["stages"], indent=1)[-4000:] + gui_report["log"][-3000:]
    stages = gui_report["stages"]
    assert stages["enable"]["enabled"]
    assert stages["sidebar"]["tab"] == "BodyRig" and stages["sidebar"]["bones"] == SMPL_BONES
    assert stages["preferences"]["area"] == "PREFERENCES"
    progress = stages["video"]["status_text"]
    assert "Fitting video" in progress and "frames" in progress, progress
    for name in ("sidebar", "preferences", "video_progress"):
        _not_blank(gui_report["png"][name]["image"])


def test_retarget_onto_a_mixamo_rig(blender_report):
    """In Blender 4.3 (Python 3.13): the imported motion drives a Mixamo-named rig (0.01 scale, its own bone
    axes and rolls); limb directions follow the source's within the issue's bounds (mean < 5°, max < 15°)."""
    step = _step(blender_report, "retarget")
    assert step["result"] == ["FINISHED"], step["error"]
    assert step["action"] and step["constraints"] == 0 and step["mode"] == "OBJECT"
    assert step["frames"] == blender_report["work"]["motion"].pose.shape[0]
    assert step["mean_deg"] < 5.0 and step["max_deg"] < 15.0, step
