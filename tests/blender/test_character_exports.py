"""Every way of making a character carries its fitted shape: File > Export .npz gives back the betas the fit (or
the motion file) had, for the photo, video, motion and PIFu imports, the batch script and the demo.

The reference is what the fit returned (captured from the pipeline call the operator made) or the file's own
betas, never what the armature stores.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import REPO

SAMPLE = REPO / "data" / "sample_photo.jpg"
CLIP = REPO / "tests" / "e2e" / "data" / "gt_plain.mp4"


@pytest.fixture
def operators_on(monkeypatch):
    from bodyrig import operators

    monkeypatch.setenv("BODYRIG_BODY", "tiny")
    operators.register()
    yield
    operators.unregister()


def _capture(monkeypatch, name):
    """Wrap bodyrig.inference.pipeline.<name> so the test sees what the operator's pipeline call returned."""
    import bodyrig.inference.pipeline as pipeline

    seen = []
    real = getattr(pipeline, name)

    def wrapped(*args, **kwargs):
        seen.append(real(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(pipeline, name, wrapped)
    return seen


def _exported_betas(tmp_path, arm=None):
    """Select the armature, run File > Export (the .npz motion), read the betas back from the file."""
    import bpy

    from inference.motion_io import load_motion

    arm = arm or next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")
    bpy.context.view_layer.objects.active = arm
    path = tmp_path / f"{arm.name}_export.npz"
    assert bpy.ops.bodyrig.export(filepath=str(path)) == {"FINISHED"}
    return load_motion(path).betas


def _assert_fitted(betas, expected):
    expected = np.asarray(expected, dtype=np.float64).ravel()
    assert np.abs(expected).max() > 1e-4  # a real shape, so zeros could not pass
    np.testing.assert_allclose(betas, expected, atol=1e-6)


def test_photo_import_exports_the_fitted_betas(operators_on, monkeypatch, tmp_path):
    import bpy

    seen = _capture(monkeypatch, "fit_photo")
    assert bpy.ops.bodyrig.import_photo(filepath=str(SAMPLE)) == {"FINISHED"}
    _assert_fitted(_exported_betas(tmp_path), seen[0].fit.betas)
    arm = next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")
    from bodyrig.operators.character_props import read_camera

    stored, fitted = read_camera(arm).as_dict(), seen[0].fit.camera.as_dict()  # the camera travels with it
    assert stored.keys() == fitted.keys()
    np.testing.assert_allclose(list(stored.values()), list(fitted.values()), rtol=1e-6)  # float32 properties


def test_video_import_exports_the_fitted_betas(operators_on, monkeypatch, tmp_path):
    import bpy

    seen = _capture(monkeypatch, "video_motion")
    assert bpy.ops.bodyrig.import_video(filepath=str(CLIP)) == {"FINISHED"}
    _assert_fitted(_exported_betas(tmp_path), seen[0].motion.betas)


def _motion_file(tmp_path, betas):
    from inference.motion_io import save_motion
    from inference.results import MotionFit

    rng = np.random.default_rng(3)
    motion = MotionFit(pose=rng.normal(0, 0.1, (4, 24, 3)), transl=rng.normal(0, 0.1, (4, 3)), betas=betas, fps=30)
    path = tmp_path / "in.npz"
    save_motion(motion, path)
    return path


def test_motion_import_exports_the_files_betas_and_keeps_a_selected_characters_own(operators_on, tmp_path):
    import bpy

    betas = np.linspace(-0.8, 0.6, 10)
    path = _motion_file(tmp_path, betas)
    assert bpy.ops.bodyrig.import_motion(filepath=str(path)) == {"FINISHED"}
    arm = bpy.context.view_layer.objects.active
    _assert_fitted(_exported_betas(tmp_path, arm), betas)
    other = _motion_file(tmp_path, np.full(10, 0.3))  # onto the selected character: its shape stays
    assert bpy.ops.bodyrig.import_motion(filepath=str(other), target="SELECTED") == {"FINISHED"}
    _assert_fitted(_exported_betas(tmp_path, arm), betas)


def test_pifu_import_exports_the_fitted_betas(operators_on, monkeypatch, tmp_path):
    """PIFu itself is replaced by a small box-frame mesh (its networks are tested in tests/unit); the fit is real."""
    import bpy

    import bodyrig.inference.pifu.reconstruct as rec
    from bodyrig.operators import settings as op_settings
    from inference.pipeline import Settings

    from inference.pifu.crop import Crop

    def fake_reconstruct(image, net_g, net_c=None, **kwargs):
        v = np.array([[0, 0.5, 0], [0.1, 0, 0.05], [-0.1, 0, 0.05], [0, 0, -0.1]], np.float32)
        crop = Crop(image=np.zeros((3, 4, 4), np.float32), mask=np.zeros((4, 4), np.float32), origin=(0.0, 0.0),
                    side=600.0)
        return rec.PifuMesh(vertices=v, faces=np.array([[0, 1, 2], [0, 3, 1], [0, 2, 3], [1, 3, 2]]),
                            colours=None, crop=crop, evaluated_count=0, mode="dense", resolution=16)

    monkeypatch.setattr(rec, "reconstruct", fake_reconstruct)
    monkeypatch.setattr(op_settings, "settings_for",
                        lambda op, ctx: Settings(body="tiny", pifu_net_g="net_G", pifu_net_c="net_C"))
    import bodyrig.operators.import_ops as import_ops

    monkeypatch.setattr(import_ops, "settings_for", op_settings.settings_for)
    seen = _capture(monkeypatch, "clothed_mesh")
    assert bpy.ops.bodyrig.import_pifu(filepath=str(SAMPLE)) == {"FINISHED"}
    _assert_fitted(_exported_betas(tmp_path), seen[0].photo.fit.betas)


def test_demo_character_exports_the_fitted_betas(operators_on, monkeypatch, tmp_path):
    import bpy

    import importlib.util

    spec = importlib.util.spec_from_file_location("bodyrig_demo", REPO / "scripts" / "demo.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)

    seen = _capture(monkeypatch, "fit_photo")
    character, _ = demo.build(SAMPLE, tmp_path, body="tiny", checkpoint=None, device="cpu")
    assert bpy.context.scene.camera is not None
    _assert_fitted(_exported_betas(tmp_path, character.armature), seen[0].fit.betas)
