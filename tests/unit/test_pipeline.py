"""inference.pipeline: HMR's betas initialise the fit for SMPL model files whether the body comes as a path or as
loaded data (they used to apply only when `body` was a string), and never for the open or tiny body."""

import dataclasses

import numpy as np
import pytest

from tests.conftest import REPO


class _Stop(Exception):
    pass


@pytest.fixture
def captured(monkeypatch, tmp_path):
    """Run fit_photo up to the fit with a fake HMR result; return what fit_keypoints was given."""
    import inference.fit as fit
    import inference.hmr as hmr

    seen = {}

    def fake_regress(rgb, kp, checkpoint, device="auto", focal=None):
        return hmr.HMRResult(pose=np.zeros((24, 3)), betas=np.full(10, 0.7), transl=np.array([0, 0, 3.0]),
                             focal=float(focal))

    def fake_fit(model, kp, cam, **kwargs):
        seen.update(kwargs)
        raise _Stop

    monkeypatch.setattr(hmr, "regress", fake_regress)
    monkeypatch.setattr(fit, "fit_keypoints", fake_fit)
    return seen


def _fit(body, tmp_path):
    from inference.pipeline import Settings, fit_photo

    ckpt = tmp_path / "hmr.pt"
    ckpt.write_bytes(b"unused: regress is replaced")
    with pytest.raises(_Stop):
        fit_photo(REPO / "data" / "sample_photo.jpg", Settings(body=body, checkpoint=str(ckpt), device="cpu"))


def test_hmr_betas_apply_to_an_smpl_file_given_as_path_or_as_data(captured, tmp_path):
    from inference.body import tiny_model
    from inference.body.smpl_io import save_body_model

    smpl_like = dataclasses.replace(tiny_model(), name="SMPL_NEUTRAL")  # an SMPL-format file's shape space
    path = tmp_path / "SMPL_NEUTRAL.npz"
    save_body_model(smpl_like, path)
    _fit(str(path), tmp_path)
    np.testing.assert_allclose(captured.pop("init_betas"), np.full((1, 10), 0.7))
    from inference.body.load import load_body

    _fit(load_body(str(path)), tmp_path)  # the same file, loaded first (what the operators used to pass)
    np.testing.assert_allclose(captured.pop("init_betas"), np.full((1, 10), 0.7))


def test_hmr_betas_never_apply_to_the_tiny_body(captured, tmp_path):
    _fit("tiny", tmp_path)
    assert "init_betas" not in captured and "init_pose" in captured


def test_photo_fit_joints_are_the_fitted_bodys_joints():
    """fit_photo takes joints3d and rest_pelvis from the skeleton alone (not the whole mesh, for speed): they
    must equal the full forward pass of the fitted parameters."""
    from inference.body import BodyModel
    from inference.pipeline import Settings, fit_photo

    res = fit_photo(REPO / "data" / "sample_photo.jpg", Settings(body="tiny", device="cpu"))
    fit, model = res.fit, BodyModel(res.body)
    out = model(fit.pose[None], fit.betas[None], fit.transl[None])
    np.testing.assert_allclose(fit.joints3d, out.joints[0, :24].double().numpy(), atol=1e-5)
    np.testing.assert_allclose(fit.rest_pelvis, out.rest_joints[0, 0].double().numpy(), atol=1e-5)
    assert np.ptp(fit.joints3d[:, 1]) > 0.5  # a posed body, not a collapsed one


def test_a_fit_that_exchanged_left_and_right_keeps_its_keypoints_under_the_names_it_used(monkeypatch):
    """When the fit took the detector's left and right the other way round (a back view read wrongly, FitResult
    .swapped), the keypoints stored with it are renamed to match the fitted body, and a note says so."""
    import inference.fit as fit
    from inference.keypoint_map import LEFT_RIGHT_SWAP
    from inference.pipeline import Settings, fit_photo

    real = fit.fit_keypoints

    def swapped_fit(*args, **kwargs):
        return dataclasses.replace(real(*args, **kwargs), swapped=np.array([True]))

    monkeypatch.setattr(fit, "fit_keypoints", swapped_fit)
    res = fit_photo(REPO / "data" / "sample_photo.jpg", Settings(body="tiny", device="cpu"))
    detected = np.asarray(res.detection.keypoints2d, dtype=np.float64)
    np.testing.assert_allclose(res.fit.keypoints2d, detected[list(LEFT_RIGHT_SWAP)])
    assert any("left and right exchanged" in n for n in res.fit.notes)
