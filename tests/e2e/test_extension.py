"""The Blender extension as users get it: the manifest, the zip, and the zip installed into the PyPI bpy.

References independent of our code: Blender's own extension tool (bl_pkg/cli/blender_ext.py, shipped inside the
bpy wheel) validates the manifest, builds its own zip to compare file lists, and its PathPatternMatch judges our
pattern rules; Blender's extension operators install, enable and uninstall the zip. Everything inside the
installed extension runs in a fresh Python without the repository on sys.path (extension_driver.py).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import build_extension  # noqa: E402

bpy_spec = importlib.util.find_spec("bpy")
# The wheel keeps Blender's scripts under a folder named for its version (4.2/, 5.0/, ...).
BLENDER_EXT = (next(Path(bpy_spec.origin).parent.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"), None)
               if bpy_spec else None)
needs_blender_ext = pytest.mark.skipif(BLENDER_EXT is None or not BLENDER_EXT.is_file(),
                                       reason="the bpy wheel's bl_pkg extension tool is not installed")
MOTION_FRAMES, MOTION_FPS = 12, 25.0


def _blender_ext(*args, cwd=REPO):
    return subprocess.run([sys.executable, str(BLENDER_EXT), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def _blender_pattern_matcher():
    spec = importlib.util.spec_from_file_location("blender_ext_ref", BLENDER_EXT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["blender_ext_ref"] = module
    spec.loader.exec_module(module)
    return module.PathPatternMatch


@needs_blender_ext
def test_manifest_passes_blenders_validator():
    proc = _blender_ext("validate", str(REPO))
    assert proc.returncode == 0 and "Success" in proc.stdout, proc.stdout + proc.stderr


def test_manifest_fields():
    import tomllib

    m = tomllib.loads((REPO / "blender_manifest.toml").read_text())
    assert m["id"] == "bodyrig" and m["type"] == "add-on" and m["blender_version_min"] == "4.2.0"
    assert len(m["tagline"]) <= 64 and m["tagline"][-1].isalnum()
    assert all(lic.startswith("SPDX:") for lic in m["license"])
    assert set(m["permissions"]) == {"files", "network"}


@needs_blender_ext
def test_zip_has_what_blenders_builder_packs(tmp_path):
    (tmp_path / "blender").mkdir()
    proc = _blender_ext("build", "--source-dir", str(REPO), "--output-dir", str(tmp_path / "blender"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    reference = set(zipfile.ZipFile(next((tmp_path / "blender").glob("*.zip"))).namelist())
    ours = build_extension.build(REPO, tmp_path / "ours")
    names = zipfile.ZipFile(ours).namelist()
    assert set(names) == reference
    assert ours.name == "bodyrig-0.1.0.zip" and names[0] == "blender_manifest.toml"
    tops = {n.split("/")[0] for n in names}
    assert tops <= {"blender_manifest.toml", "__init__.py", "inference", "operators", "blender_addon", "data",
                    "LICENSE", "NOTICE", "NOTICE.md"}
    assert {"__init__.py", "inference/errors.py", "operators/import_ops.py", "blender_addon/preferences.py",
            "data/sample_photo.jpg"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or "/." in n or n.startswith(".")]


@needs_blender_ext
@pytest.mark.parametrize("patterns", [
    ["__pycache__/", "*.pyc", ".*", "/*", "!/inference", "!/__init__.py"],
    ["/tests/", "*.zip", "docs/**/draft*", "!keep.zip", "a/*/c"],
    ["**/build/", "/x?z", "[ab]*.txt"],
])
def test_exclude_patterns_agree_with_blender(patterns):
    matcher = _blender_pattern_matcher()(patterns)
    cases = [
        ("inference/", True), ("inference/errors.py", False), ("inference/__pycache__/", True),
        ("inference/body/", True), ("tests/", True), ("tests/unit/", True), ("README.md", False),
        ("__init__.py", False), (".git/", True), ("sub/.hidden", False), ("a.pyc", False), ("x/a.pyc", False),
        ("keep.zip", False), ("dist/keep.zip", False), ("other.zip", False), ("docs/a/b/draft1.md", False),
        ("docs/draft.md", False), ("a/b/c", False), ("q/a/b/c", False), ("a/b/b/c", False), ("build/", True),
        ("src/build/", True), ("xyz", False), ("xyz/", True), ("q/xyz", False), ("a.txt", False),
        ("c/b1.txt", False), ("c.txt", False),
    ]
    for path, is_dir in cases:
        expected = matcher.test_path(path)
        got = build_extension.is_excluded(patterns, path.rstrip("/"), is_dir)
        assert got == expected, (patterns, path, got, expected)


def test_build_refuses_bad_manifest(tmp_path):
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "blender_manifest.toml").write_text(
        'schema_version = "1.0.0"\nid = "x"\nversion = "1.0.0"\nname = "X"\ntagline = "Ends with a dot."\n'
        'maintainer = "m"\ntype = "add-on"\nlicense = ["SPDX:MIT"]\nblender_version_min = "4.2.0"\n')
    with pytest.raises(build_extension.BuildError, match="tagline"):
        build_extension.collect(tmp_path)


# ------------------------------------------------------------------------------------- installed into bpy

def _write_inputs(work: Path):
    from inference.motion_io import save_motion
    from inference.results import MotionFit

    t = np.arange(MOTION_FRAMES)
    pose = np.zeros((MOTION_FRAMES, 24, 3))
    pose[:, 16, 2] = -0.8 + 0.6 * np.sin(t / 3)  # left shoulder waves
    pose[:, 17, 2] = 0.8
    pose[:, 4, 0] = 0.5 * (1 - np.cos(t / 2))  # left knee bends
    transl = np.stack([0.05 * t, np.zeros_like(t, dtype=float), np.zeros_like(t, dtype=float)], axis=1)
    motion = MotionFit(pose=pose, transl=transl, betas=np.zeros(10), fps=MOTION_FPS)
    save_motion(motion, work / "motion.npz")
    save_motion(MotionFit(pose=pose[:5], transl=transl[:5], betas=np.zeros(10), fps=MOTION_FPS),
                work / "motion_short.npz")
    import cv2

    writer = cv2.VideoWriter(str(work / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for i in range(6):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()
    return motion


@pytest.fixture(scope="session")
def installed(tmp_path_factory):
    """Build the zip, install it into a fresh bpy process, run everything; the driver's JSON report."""
    if bpy_spec is None:
        pytest.skip("bpy is not installed")
    root = tmp_path_factory.mktemp("extension")
    work = root / "work"
    work.mkdir()
    motion = _write_inputs(work)
    zip_path = build_extension.build(REPO, root / "dist")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(BLENDER_USER_RESOURCES=str(root / "user"), BODYRIG_DEBUG="1",
               BODYRIG_BODY=env.get("BODYRIG_BODY", "tiny"))
    out = root / "report.json"
    proc = subprocess.run([sys.executable, str(REPO / "tests/e2e/extension_driver.py"), str(zip_path), str(work),
                           str(out)], cwd=root, env=env, capture_output=True, text=True, timeout=900)
    assert out.is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    report["work"], report["motion"] = work, motion
    return report


def _step(installed, name):
    step = installed["steps"][name]
    assert step["ok"], step.get("traceback")
    return step


def test_installs_and_enables_from_the_zip(installed):
    step = _step(installed, "install")
    assert not installed["repo_on_path"]
    module = step["module"]
    assert module.startswith("bl_ext.user_default.") and module.endswith(".bodyrig")
    assert step["prefs_idname"] == module  # found from __package__, never written out
    assert "/extensions/user_default/bodyrig/" in step["file"]
    assert "/extensions/user_default/bodyrig/inference/" in step["inference_file"]  # the bundled copy
    assert step["top_level"] == []  # nothing of BodyRig under a top-level name in Blender's interpreter
    assert {"import_photo", "import_video", "import_motion", "import_pifu", "export",
            "install_dependencies"} <= set(step["registered"]["operators"])
    assert step["registered"]["addons"] == [module]
    assert step["body_source"] == "OPEN" and step["device"] == "AUTO"


def test_panels_and_menus_draw(installed):
    step = _step(installed, "panels")
    drawn = step["drawn"]
    assert step["sidebar_category"] == "BodyRig"
    ops = [text for kind, text in drawn["BODYRIG_PT_import"] if kind == "operator"]
    assert ops == ["bodyrig.import_photo", "bodyrig.import_video", "bodyrig.import_motion", "bodyrig.import_pifu"]
    labels = " ".join(text for _, text in drawn["preferences"])
    assert "torch" in labels and "mediapipe" in labels  # the dependency list
    assert "CUDA" in labels or "CPU" in labels or "not installed" in labels  # the device line
    assert [t for k, t in drawn["TOPBAR_MT_file_import"] if k == "operator"] == [
        "bodyrig.import_photo", "bodyrig.import_video", "bodyrig.import_motion", "bodyrig.import_pifu"]
    assert [t for k, t in drawn["TOPBAR_MT_file_export"] if k == "operator"] == ["bodyrig.export"]


def test_dependency_installer_refuses_offline(installed):
    step = _step(installed, "install_dependencies_offline")
    if step["online_access"]:
        pytest.skip("Blender reports online access here")
    # Every dependency is installed in the test environment, so the button has nothing to do.
    assert step["result"] == ["FINISHED"] or "offline" in step["error"]


def test_import_photo(installed):
    step = _step(installed, "import_photo")
    if "skipped" in step:
        pytest.skip(step["skipped"])
    assert step["error"] is None and step["result"] == ["FINISHED"]
    assert step["bones"] == 24 and step["camera"]
    assert step["top_level"] == []  # the work ran, and still nothing of BodyRig has a top-level name


def test_import_motion_builds_an_animated_character(installed):
    step = _step(installed, "import_motion")
    assert step["error"] is None and step["result"] == ["FINISHED"]
    assert step["bones"] == 24
    assert step["frame_range"] == [1.0, float(MOTION_FRAMES)]
    assert step["scene"]["fps"] == MOTION_FPS
    assert step["scene"]["armatures"] == 1 and step["scene"]["actions"] == 1


def test_import_motion_onto_the_selected_character(installed):
    step = _step(installed, "import_motion_selected")
    assert step["error"] is None
    assert step["after"]["armatures"] == step["before"]["armatures"]  # no new rig
    assert step["frame_range"] == [1.0, 5.0]


def test_exports(installed):
    from inference.motion_io import load_motion

    step = _step(installed, "export")
    for ext in ("fbx", "glb", "bvh", "npz"):
        assert step[ext]["error"] is None and step[ext]["size"] > 0, (ext, step[ext])
    back = load_motion(installed["work"] / "export.npz")
    short = installed["motion"].pose[:5]  # the selected character now carries the 5-frame motion
    assert back.pose.shape == (5, 24, 3)
    from scipy.spatial.transform import Rotation

    r = Rotation.from_rotvec(back.pose.reshape(-1, 3)).inv() * Rotation.from_rotvec(short.reshape(-1, 3))
    assert np.max(r.magnitude()) < 1e-4


def test_failures_are_reported_and_leave_the_scene_unchanged(installed):
    step = _step(installed, "failures_leave_scene_unchanged")
    assert "no person found" in step["video"]["error"]  # the synthetic clip shows a disc, nobody
    assert "PIFu" in step["pifu"]["error"]
    assert "motion file not found" in step["missing_motion"]["error"]
    assert ".fbx, .glb, .bvh or .npz" in step["bad_export"]["error"]
    for name, outcome in step.items():
        if name == "ok":
            continue
        assert outcome["result"] is None and outcome["error"], (name, outcome)
        assert outcome["unchanged"], name


def test_uninstall_leaves_nothing_registered(installed):
    step = _step(installed, "uninstall")
    for state in (step["after_disable"], step["after_uninstall"]):
        assert state == {"operators": [], "types": [], "addons": [], "menu_funcs": []}, state
    assert step["result"] == ["FINISHED"] and step["left_in_repo"] == []
    assert step["site_packages_on_path"] == []
