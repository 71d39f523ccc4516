"""The mirrored pass for the photo fit's starting pose only: detect_person(mirror_3d=True) keeps with_mirror's
averaged world landmarks beside its own, and fit_photo starts the fit from those while the 3D term, the 2D
keypoints and the detection stay the plain pass's."""

import numpy as np
import pytest

from inference.detect import Detection


def _detection(rng, w=400, h=300):
    kp = np.concatenate([rng.uniform([150, 60], [250, 240], (33, 2)), rng.uniform(0.6, 1.0, (33, 1))], 1)
    box = np.array([kp[:, 0].min(), kp[:, 1].min(), kp[:, 0].max(), kp[:, 1].max()], np.float32)
    return Detection(box=box, keypoints2d=kp.astype(np.float32),
                     world_landmarks=rng.normal(0, 0.3, (33, 3)).astype(np.float32), mask=np.zeros((h, w), np.float32))


@pytest.mark.parametrize("mirror_3d", [False, True])
def test_detect_person_keeps_the_mirrored_world_landmarks_when_asked(monkeypatch, mirror_3d):
    import inference.detect as detect

    det = _detection(np.random.default_rng(1))
    plain_kp, plain_world = det.keypoints2d.copy(), det.world_landmarks.copy()
    other = _detection(np.random.default_rng(2))  # what the mirrored pass averages to (2D and 3D differ)
    calls = []
    monkeypatch.setattr(detect, "detect_people", lambda rgb, name, model: [det])
    monkeypatch.setattr(detect, "with_mirror", lambda d, rgb, model: calls.append(d) or other)
    out = detect.detect_person(np.zeros((300, 400, 3), np.uint8), mirror_3d=mirror_3d)
    np.testing.assert_array_equal(out.keypoints2d, plain_kp)
    np.testing.assert_array_equal(out.world_landmarks, plain_world)
    if mirror_3d:
        assert calls == [det]
        np.testing.assert_array_equal(out.world_mirrored, other.world_landmarks)
    else:
        assert calls == [] and out.world_mirrored is None


class _Pending:
    def __init__(self, det):
        self.det, self.seconds = det, 0.0

    def result(self):
        return self.det


class _Stop(Exception):
    pass


@pytest.mark.parametrize("mirrored", [False, True])
def test_fit_photo_starts_from_the_mirrored_landmarks(monkeypatch, tmp_path, mirrored):
    import cv2

    import inference.fit as fit
    from inference.pipeline import Settings, fit_photo

    path = tmp_path / "p.png"
    cv2.imwrite(str(path), np.full((300, 400, 3), 128, np.uint8))
    det = _detection(np.random.default_rng(3))
    if mirrored:
        det.world_mirrored = det.world_landmarks + 0.05
    seen = {}

    def capture(model, kp, cam, world=None, world_init=None, **kw):
        seen["kp"], seen["world"], seen["init"] = kp, world, world_init
        raise _Stop

    monkeypatch.setattr(fit, "fit_keypoints", capture)
    with pytest.raises(_Stop):
        fit_photo(str(path), Settings(body="tiny", device="cpu"), detection=_Pending(det))
    np.testing.assert_allclose(seen["kp"][0], det.keypoints2d, atol=1e-6)
    np.testing.assert_allclose(seen["world"][0], det.world_landmarks, atol=1e-6)
    expected = det.world_mirrored if mirrored else det.world_landmarks
    np.testing.assert_allclose(seen["init"][0], expected, atol=1e-6)
