"""inference.hmr: SPIN checkpoint compatibility (golden vectors), safe strict loading, SPIN's pre-processing,
and the crop camera → full-photo camera conversion (checked by projecting points with both cameras)."""

from __future__ import annotations

import numpy as np
import pytest

from inference import hmr
from inference.errors import BadInputError, ModelFileError
from tests.golden_weights import deterministic_state_dict, read_manifest


@pytest.fixture(scope="session")
def golden_weights(golden_dir, shared_dir):
    return deterministic_state_dict(
        golden_dir / "spin_hmr_state_dict.tsv", mean_params=shared_dir / "data" / "smpl_mean_params.npz"
    )


@pytest.fixture(scope="session")
def spin_checkpoint(golden_weights, tmp_path_factory):
    """The golden weights saved the way SPIN saves model_checkpoint.pt (the state dict under "model")."""
    import torch

    path = tmp_path_factory.mktemp("hmr") / "model_checkpoint.pt"
    torch.save({"model": golden_weights, "optimizer": {"state": {}, "param_groups": []}, "epoch": 7,
                "batch_idx": 0, "batch_size": 64, "dataset_perm": torch.arange(5), "total_step_count": 1}, path)
    return path


def test_state_dict_matches_spin_manifest(golden_dir):
    sd = hmr.HMR().state_dict()
    manifest = read_manifest(golden_dir / "spin_hmr_state_dict.tsv")
    assert list(sd) == [k for k, _, _ in manifest]  # same keys, same order
    for key, shape, dtype in manifest:
        assert tuple(sd[key].shape) == shape, key
        assert str(sd[key].dtype).replace("torch.", "") == dtype, key
    assert sum(p.numel() for p in hmr.HMR().parameters()) == 26_977_501  # the README counts parameters


def test_golden_vectors(golden_dir, spin_checkpoint):
    import torch

    ref = np.load(golden_dir / "spin_hmr_golden.npz")
    net = hmr.load_hmr(spin_checkpoint, device="cpu")
    assert not net.training
    with torch.no_grad():
        out = net(torch.from_numpy(ref["input"]))
    np.testing.assert_allclose(out["rotmat"].numpy(), ref["pred_rotmat"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(out["betas"].numpy(), ref["pred_betas"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(out["cam"].numpy(), ref["pred_cam"], atol=1e-4, rtol=0)


def test_raw_state_dict_loads_like_spin_dict(golden_weights, spin_checkpoint, tmp_path):
    import torch

    raw = tmp_path / "raw.pt"
    torch.save(golden_weights, raw)
    a, b = hmr.load_hmr(spin_checkpoint, "cpu"), hmr.load_hmr(raw, "cpu")
    assert a is not b
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)


def test_cache_by_path_mtime_device(spin_checkpoint):
    import os

    a = hmr.load_hmr(spin_checkpoint, "cpu")
    assert hmr.load_hmr(str(spin_checkpoint), "cpu") is a
    st = os.stat(spin_checkpoint)
    os.utime(spin_checkpoint, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    try:
        assert hmr.load_hmr(spin_checkpoint, "cpu") is not a  # a changed file is read again
    finally:
        os.utime(spin_checkpoint, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_wrong_checkpoints_name_keys(tmp_path):
    import torch

    sd = hmr.HMR().state_dict()
    partial = {k: v for k, v in sd.items() if not k.startswith("layer4")}
    partial["head.weight"] = torch.zeros(3)
    partial["fc1.weight"] = torch.zeros(1024, 2048)  # the TF layout without the 157 fed-back numbers
    path = tmp_path / "partial.pt"
    torch.save({"model": partial}, path)
    with pytest.raises(ModelFileError) as info:
        hmr.load_hmr(path, "cpu")
    msg = str(info.value)
    n_missing = sum(k.startswith("layer4") for k in sd)
    assert f"{n_missing} missing keys: layer4.0.conv1.weight" in msg and f"({n_missing} in all)" in msg
    assert "1 unexpected keys: head.weight" in msg
    assert "fc1.weight (1024, 2048) != (1024, 2205)" in msg
    assert "\n" not in msg

    torch.save({"weights": [1, 2, 3]}, tmp_path / "other.pt")
    with pytest.raises(ModelFileError, match="no HMR state dict"):
        hmr.load_hmr(tmp_path / "other.pt", "cpu")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(ModelFileError, match="not a readable"):
        hmr.load_hmr(tmp_path / "junk.pt", "cpu")
    with pytest.raises(ModelFileError, match="not found"):
        hmr.load_hmr(tmp_path / "absent.pt", "cpu")


class _Payload:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_callable_refused(tmp_path):
    import torch

    marker = tmp_path / "code_ran"
    path = tmp_path / "evil.pt"
    torch.save({"model": {"conv1.weight": torch.zeros(1)}, "hook": _Payload(str(marker))}, path)
    with pytest.raises(ModelFileError, match=r"refused: besides tensors it names code \(\w*\.?open\)"):
        hmr.load_hmr(path, "cpu")
    assert not marker.exists()


def test_box_from_keypoints():
    kp = np.zeros((33, 3))
    kp[:, 2] = 0.1  # unconfident keypoints are ignored...
    kp[:, :2] = 1e4
    kp[[0, 11, 12, 27], :] = [[100, 50, 0.9], [80, 100, 0.9], [120, 100, 0.9], [100, 250, 0.9]]
    center, scale = hmr.box_from_keypoints(kp)
    np.testing.assert_allclose(center, [100, 125])
    assert scale == pytest.approx(1.2 * 200 / 200)
    with pytest.raises(BadInputError):
        hmr.box_from_keypoints(np.full((33, 3), np.nan))


def test_crop_for_hmr_maps_box_to_crop():
    rgb = np.zeros((300, 400, 3), np.uint8)
    rgb[148:153, 198:203] = 255  # a white 5x5 dot at (200, 150)
    x = hmr.crop_for_hmr(rgb, center=(200.0, 150.0), scale=1.0).numpy()  # 200 px box → 224 px
    assert x.shape == (3, 224, 224) and x.dtype == np.float32
    img = x * np.asarray(hmr.IMAGENET_STD)[:, None, None] + np.asarray(hmr.IMAGENET_MEAN)[:, None, None]
    ys, xs = np.nonzero(img[0] > 0.5)
    assert abs(xs.mean() - 112) < 0.6 and abs(ys.mean() - 112) < 0.6
    assert 5 * 1.12 - 1 <= xs.ptp() + 1 <= 5 * 1.12 + 2
    # Crop mostly outside the image: zeros before normalisation there.
    x = hmr.crop_for_hmr(rgb, center=(0.0, 0.0), scale=1.0).numpy()
    np.testing.assert_allclose(x[:, 5, 5], -np.asarray(hmr.IMAGENET_MEAN) / np.asarray(hmr.IMAGENET_STD), atol=1e-6)


def _crop_pixels(points, cam, center, scale):
    """SPIN's crop camera (f = 5000 px on 224, t = [tx, ty, 2f/(224 s)]), then crop px → full px."""
    s, tx, ty = cam
    t = np.array([tx, ty, 2 * 5000 / (224 * s)])
    p = points + t
    uc = 5000 * p[:, :2] / p[:, 2:] + 112
    b = 200 * scale
    return np.asarray(center) + (uc - 112) * b / 224


def _full_pixels(points, transl, focal, size):
    p = points + transl
    return focal * p[:, :2] / p[:, 2:] + np.asarray(size) / 2


def test_crop_cam_to_full_projects_like_the_crop():
    rng = np.random.default_rng(0)
    size = (1920, 1080)
    cam = np.array([0.9, 0.05, 0.2])
    center, scale = np.array([1400.0, 300.0]), 2.5
    root_plane = np.c_[rng.uniform(-0.8, 0.8, (50, 2)), np.zeros(50)]
    body = rng.uniform(-0.8, 0.8, (50, 3)) * [1, 1, 0.2]

    # Box centred on the image, at the focal where both cameras are one camera: every point agrees.
    f_same = 5000 * 200 * scale / 224
    mid = np.asarray(size, float) / 2
    t = hmr.crop_cam_to_full(cam[None], mid, scale, size, f_same)[0]
    np.testing.assert_allclose(_full_pixels(body, t, f_same, size), _crop_pixels(body, cam, mid, scale), atol=1e-6)

    # Any other focal (a phone's ~1500 px): the root plane agrees exactly; the rest only up to perspective.
    t = hmr.crop_cam_to_full(cam[None], center, scale, size, 1500.0)[0]
    np.testing.assert_allclose(_full_pixels(root_plane, t, 1500.0, size),
                               _crop_pixels(root_plane, cam, center, scale), atol=1e-6)
    err = np.abs(_full_pixels(body, t, 1500.0, size) - _crop_pixels(body, cam, center, scale)).max()
    assert err < 0.05 * 200 * scale  # a few percent of the box at 0.16 m depth spread
    assert t[2] == pytest.approx(2 * 1500 / (200 * scale * 0.9))


def test_crop_cam_to_full_torch_batch():
    import torch

    cam = torch.tensor([[0.9, 0.05, 0.2], [1.1, -0.1, 0.0]], dtype=torch.float64)
    centers = torch.tensor([[100.0, 200.0], [300.0, 50.0]], dtype=torch.float64)
    scales = torch.tensor([1.0, 2.0], dtype=torch.float64)
    out = hmr.crop_cam_to_full(cam, centers, scales, (640, 480), 800.0)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 3)
    for i in range(2):
        ref = hmr.crop_cam_to_full(cam[i : i + 1].numpy(), centers[i].numpy(), float(scales[i]), (640, 480), 800.0)
        np.testing.assert_allclose(out[i].numpy(), ref[0], atol=1e-12)


def test_regress_real_photo_batched_equals_single(photos_dir, spin_checkpoint):
    """With the golden weights the numbers mean nothing, but the batch path must equal the single path."""
    from inference.images import load_image

    img = load_image(photos_dir / "000000000785.jpg")
    h, w = img.rgb.shape[:2]
    kp = np.zeros((33, 3))
    kp[:, 0] = np.linspace(0.4 * w, 0.6 * w, 33)
    kp[:, 1] = np.linspace(0.2 * h, 0.9 * h, 33)
    kp[:, 2] = 1.0
    one = hmr.regress(img.rgb, kp, spin_checkpoint, device="cpu", focal=1000.0)
    assert one.pose.shape == (24, 3) and one.betas.shape == (10,) and one.transl.shape == (3,)
    assert one.focal == 1000.0 and np.isfinite(one.pose).all() and np.isfinite(one.transl).all()
    kp2 = kp.copy()
    kp2[:, 0] -= 40
    many = hmr.regress_many([img.rgb, img.rgb], [kp, kp2], spin_checkpoint, device="cpu", focal=[1000.0, None])
    np.testing.assert_allclose(many[0].pose, one.pose, atol=1e-4)
    np.testing.assert_allclose(many[0].transl, one.transl, atol=1e-4)
    assert not np.allclose(many[1].transl, one.transl)
    assert many[1].focal == pytest.approx(np.hypot(w, h))  # no focal given: the image diagonal


@pytest.mark.cuda
def test_cuda_autocast_within_tolerance(golden_dir, spin_checkpoint):
    """Measures float16 autocast against float32 on the golden vectors; CUDA_AUTOCAST may only be on if < 1e-3."""
    import torch

    ref = np.load(golden_dir / "spin_hmr_golden.npz")
    net = hmr.load_hmr(spin_checkpoint, "cuda")
    x = torch.from_numpy(ref["input"]).cuda()
    saved = net.autocast
    try:
        net.autocast = False
        with torch.no_grad():
            fp32 = {k: v.cpu().numpy() for k, v in net(x).items()}
        net.autocast = True
        with torch.no_grad():
            amp = {k: v.cpu().numpy() for k, v in net(x).items()}
    finally:
        net.autocast = saved
    np.testing.assert_allclose(fp32["rotmat"], ref["pred_rotmat"], atol=1e-4)
    err = max(np.abs(fp32[k] - amp[k]).max() for k in ("rotmat", "betas", "cam"))
    print(f"HMR autocast max |fp16 - fp32| on golden vectors: {err:.2e}")
    if hmr.CUDA_AUTOCAST:
        assert err < 1e-3
