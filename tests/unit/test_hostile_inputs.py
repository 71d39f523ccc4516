"""Hostile files at every model / motion / checkpoint boundary (issue 14, cases 2, 3, 4 and 6): non-finite or
wrongly typed numbers are refused by name, sizes are bounded before anything is allocated, one-frame motions
work, and every malformed file gives one clear BodyRigError line. Inputs come from tests/hostile_files.py."""

from __future__ import annotations

import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import hostile_files as hostile  # noqa: E402

from inference import limits  # noqa: E402
from inference.errors import BadInputError, BodyRigError, ModelFileError  # noqa: E402


def _one_line(exc) -> str:
    msg = str(exc.value)
    assert msg and "\n" not in msg and "Traceback" not in msg
    return msg


# ----------------------------------------------------------------------------------------- case 2: non-finite

@pytest.mark.parametrize("key", hostile.NONFINITE_FIELDS)
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_nonfinite_motion_file_refused_by_name(tmp_path, key, value):
    from inference.motion_io import load_motion

    path = hostile.nonfinite_motion(tmp_path / "m.npz", key, value)
    with pytest.raises(BadInputError) as err:
        load_motion(path)
    msg = _one_line(err)
    assert "m.npz" in msg
    assert (key in msg) or (key == "mocap_framerate" and "frame rate" in msg)


@pytest.mark.parametrize("case", sorted(hostile.MODEL_CASES))
def test_damaged_body_model_files_give_one_model_file_error(tmp_path, case):
    from inference.body.smpl_io import load_body_model

    path = hostile.MODEL_CASES[case](tmp_path / f"{case}.npz")
    with pytest.raises(ModelFileError) as err:
        load_body_model(path)
    msg = _one_line(err)
    key = {"no_faces": "faces", "metadata_not_json": "metadata_json", "metadata_list": "metadata_json",
           "text_extra_vertex_ids": "extra_vertex"}.get(case, case.split("_", 1)[1])
    assert key in msg and case in msg  # the file's name and the array's name


def test_the_valid_generator_model_loads(tmp_path):
    """The hostile models are one change away from a model that loads (so each refusal is for that change)."""
    from inference.body.smpl_io import load_body_model

    arrays = hostile.tiny_model_arrays()
    np.savez(tmp_path / "ok.npz", **arrays)
    data = load_body_model(tmp_path / "ok.npz")
    assert data.metadata == {"made_by": "tests"} and data.f.shape[0] > 0


@pytest.fixture(scope="module")
def colour_state():
    from inference.pifu.networks import ColorNet

    return ColorNet().state_dict()


@pytest.mark.parametrize("kind", hostile.DAMAGE_KINDS)
def test_damaged_pifu_checkpoint_is_blamed_on_the_file_naming_the_tensor(tmp_path, colour_state, kind):
    """A NaN (or int32, complex) PIFu network used to load and then find 'no person' in the photo."""
    import torch

    from inference.checkpoints import clear_cache
    from inference.pifu.checkpoints import load_state_dict_into
    from inference.pifu.networks import ColorNet

    key = "surface_classifier.conv2.weight"
    torch.save(hostile.damaged_state_dict(colour_state, kind, key), tmp_path / "net_C")
    torch.save(colour_state, tmp_path / "net_C_ok")
    clear_cache()
    load_state_dict_into(ColorNet(), tmp_path / "net_C_ok", "net_C (colour)")  # the undamaged copy loads
    with pytest.raises(ModelFileError) as err:
        load_state_dict_into(ColorNet(), tmp_path / "net_C", "net_C (colour)")
    msg = _one_line(err)
    assert msg.startswith("net_C ") and key in msg
    if kind in ("nan", "inf"):
        assert "NaN/inf" in msg
    else:
        assert "wrong number type" in msg and ("int32" in msg or "complex64" in msg)


def test_int32_hmr_checkpoint_refused(tmp_path):
    """An int32 copy of an HMR checkpoint used to load (torch converts) and put the person 1.5e12 m away."""
    import torch

    from inference import hmr
    from inference.checkpoints import clear_cache

    state = {k: (v * 1000).to(torch.int32) if v.is_floating_point() else v for k, v in hmr.HMR().state_dict().items()}
    path = tmp_path / "int32.pt"
    torch.save({"model": state}, path)
    clear_cache()
    with pytest.raises(ModelFileError) as err:
        hmr.load_hmr(path, "cpu")
    msg = _one_line(err)
    assert "278 tensors of the wrong number type: init_pose int32 (needs float32)" in msg


def test_zip_bomb_checkpoint_refused_from_the_zip_directory(tmp_path):
    from inference.checkpoints import read_state_dict

    path = hostile.zip_bomb_checkpoint(tmp_path / "bomb.pt")
    exc, seconds, _, rss = _peak_growth(lambda: read_state_dict(path, "HMR checkpoint"))
    assert isinstance(exc, ModelFileError) and "archive/data/0" in str(exc) and "2048 MB" in str(exc), exc
    assert seconds < 1.0 and rss < 50_000_000


def test_batchnorm_counters_stay_integers(tmp_path):
    """Integer buffers (BatchNorm's num_batches_tracked) are integers in real checkpoints: they still load."""
    import torch

    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    from inference.checkpoints import load_strict

    state = net.state_dict()
    assert state["1.num_batches_tracked"].dtype == torch.int64
    load_strict(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2)), state, tmp_path / "x.pt", "net")


def _fit(**change):
    from inference.results import BodyFit

    fields = dict(pose=np.zeros((24, 3)), betas=np.zeros(10), transl=np.array([0, 0, 3.0]),
                  camera={"fx": 500, "fy": 500, "cx": 100, "cy": 100, "width": 200, "height": 200},
                  joints3d=np.zeros((24, 3)), keypoints2d=np.zeros((33, 3)), rest_pelvis=np.zeros(3))
    fields.update(change)
    return BodyFit(**fields)


@pytest.mark.parametrize("change", [
    {"pose": np.full((24, 3), np.nan)}, {"transl": np.array([0, 0, np.inf])}, {"betas": np.full(10, np.nan)},
    {"transl": np.array([0, 0, 1.5e12])}, {"joints3d": np.full((24, 3), np.nan)},
    {"camera": {"fx": np.nan, "fy": 500, "cx": 100, "cy": 100, "width": 200, "height": 200}},
], ids=["pose", "transl", "betas", "transl_1.5e12", "joints3d", "camera"])
def test_a_nonfinite_or_absurd_fit_is_an_error_never_a_file(tmp_path, change):
    with pytest.raises(BodyRigError) as err:
        _fit(**change).save_json(tmp_path / "fit.json")
    msg = _one_line(err)
    assert next(iter(change)) in msg and "nothing was written" in msg
    assert not (tmp_path / "fit.json").exists()
    _fit().save_json(tmp_path / "ok.json")  # the same fit with sane numbers is written


def test_a_nonfinite_motion_is_an_error_never_a_file(tmp_path):
    from inference.results import MotionFit

    with pytest.raises(BodyRigError, match="pose"):
        MotionFit(pose=np.full((3, 24, 3), np.nan), transl=np.zeros((3, 3)), betas=np.zeros(10), fps=30)
    with pytest.raises(BodyRigError, match="fps"):
        MotionFit(pose=np.zeros((3, 24, 3)), transl=np.zeros((3, 3)), betas=np.zeros(10), fps=float("inf"))


def _exif_photo(path, f35):
    from PIL import Image as PILImage

    exif = PILImage.Exif()
    exif.get_ifd(0x8769)[0xA405] = f35  # FocalLengthIn35mmFilm
    PILImage.fromarray(np.zeros((300, 400, 3), np.uint8)).save(path, exif=exif)
    return path


@pytest.mark.parametrize("f35", [65535, 1, 3000])
def test_an_absurd_exif_focal_is_ignored_with_a_note(tmp_path, f35):
    from inference.camera import default_focal
    from inference.images import load_image

    img = load_image(_exif_photo(tmp_path / "p.jpg", f35))
    assert img.exif_focal_px is None  # so the fit uses default_focal
    assert len(img.notes) == 1 and f"({f35} mm" in img.notes[0] and "default focal" in img.notes[0]
    assert default_focal(400, 300) == 500.0
    ok = load_image(_exif_photo(tmp_path / "ok.jpg", 50))
    assert ok.exif_focal_px == pytest.approx(50 * 500 / np.hypot(36, 24)) and ok.notes == []


# ----------------------------------------------------------------------------------------- case 3: bounds

def _peak_growth(fn):
    """(exception, seconds, tracemalloc peak bytes, ru_maxrss growth in bytes) of calling fn()."""
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        fn()
        exc = None
    except Exception as e:  # noqa: BLE001 - returned for the test to inspect
        exc = e
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return exc, seconds, peak, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) * 1024


def test_two_million_zero_frames_refused_at_once_with_flat_memory(tmp_path):
    from inference.motion_io import load_motion

    path = hostile.long_zero_motion(tmp_path / "long.npz", frames=2_000_000)
    assert path.stat().st_size < 1_300_000
    exc, seconds, peak, rss = _peak_growth(lambda: load_motion(path))
    assert isinstance(exc, BadInputError), exc
    msg = str(exc)
    assert "2000000 frames" in msg and str(limits.MAX_FRAMES) in msg and "frame range" in msg and "\n" not in msg
    assert seconds < 1.0 and peak < 5_000_000 and rss < 50_000_000, (seconds, peak, rss)


def test_a_long_smpl_file_is_refused_from_its_headers(tmp_path):
    from inference.motion_io import load_motion

    frames = limits.MAX_FRAMES + 1
    path = hostile.write_zip(tmp_path / "long.smpl", {
        "bodyPose.npy": hostile._zero_deflate(hostile._npy_header((frames, 24, 3), "<f4"), frames * 72 * 4),
        "frameCount.npy": hostile._npy_bytes(np.array(frames, np.int32)),
        "frameRate.npy": hostile._npy_bytes(np.array(60.0, np.float32)),
    })
    exc, seconds, peak, _ = _peak_growth(lambda: load_motion(path))
    assert isinstance(exc, BadInputError) and f"{frames} frames" in str(exc), exc
    assert seconds < 1.0 and peak < 5_000_000


def test_zip_bomb_motion_refused_from_the_zip_directory(tmp_path):
    from inference.motion_io import load_motion

    path = hostile.zip_bomb_npz(tmp_path / "bomb.npz", gib=3.0)
    assert path.stat().st_size < 8_000_000
    exc, seconds, peak, rss = _peak_growth(lambda: load_motion(path))
    assert isinstance(exc, BadInputError), exc
    assert "'junk'" in str(exc) and f"{limits.MAX_ARRAY_BYTES >> 20} MB" in str(exc)
    assert seconds < 1.0 and peak < 5_000_000 and rss < 50_000_000, (seconds, peak, rss)


def test_zip_bomb_body_model_refused(tmp_path):
    from inference.body.smpl_io import load_body_model

    arrays = hostile.tiny_model_arrays()
    members = {f"{k}.npy": hostile._npy_bytes(v) for k, v in arrays.items()}
    members["junk.npy"] = hostile._zero_deflate(hostile._npy_header(((3 << 30) // 8,)), 3 << 30)
    path = hostile.write_zip(tmp_path / "bomb.npz", members)
    exc, seconds, _, rss = _peak_growth(lambda: load_body_model(path))
    assert isinstance(exc, ModelFileError) and "'junk'" in str(exc), exc
    assert seconds < 1.0 and rss < 50_000_000


def test_shared_list_pickle_refused_before_it_expands(tmp_path):
    from inference.body.smpl_io import load_body_model

    path = hostile.shared_list_pickle(tmp_path / "bomb.pkl")
    assert path.stat().st_size < 2000
    exc, seconds, peak, rss = _peak_growth(lambda: load_body_model(path))
    assert isinstance(exc, ModelFileError), exc
    assert "bomb.pkl" in str(exc) and str(limits.MAX_PICKLE_ITEMS) in str(exc)
    assert seconds < 1.0 and peak < 5_000_000 and rss < 50_000_000, (seconds, peak, rss)


def test_sparse_matrix_claiming_billions_refused(tmp_path):
    from inference.body.smpl_io import load_body_model

    path = hostile.sparse_bomb_pickle(tmp_path / "sparse.pkl")
    exc, seconds, _, rss = _peak_growth(lambda: load_body_model(path))
    assert isinstance(exc, ModelFileError) and "(24, 1000000000)" in str(exc), exc
    assert seconds < 1.0 and rss < 50_000_000


def test_deeply_nested_pickle_refused(tmp_path):
    from inference.body.smpl_io import load_body_model

    with pytest.raises(ModelFileError) as err:
        load_body_model(hostile.deep_pickle(tmp_path / "deep.pkl"))
    assert f"more than {limits.MAX_NESTING} deep" in _one_line(err)


def test_motion_within_the_limits_costs_a_few_kb_per_frame(tmp_path):
    """Reading a motion and turning it into keyable quaternions: memory per frame stays in the low KB (the
    arrays themselves), no per-frame Python objects. tracemalloc sees numpy's buffers."""
    from inference.motion_io import load_motion
    from inference.rotations import axis_angle_to_quaternion, make_quaternions_continuous

    t = 50_000
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "long.npz", poses=rng.normal(0, 0.3, (t, 72)), trans=rng.normal(0, 1, (t, 3)),
             betas=np.zeros(10), mocap_framerate=np.array(60.0))

    def run():
        m = load_motion(tmp_path / "long.npz")
        q = make_quaternions_continuous(axis_angle_to_quaternion(m.pose), dim=0).astype(np.float32)
        assert q.shape == (t, 24, 4)

    exc, _, peak, _ = _peak_growth(run)
    assert exc is None, exc
    assert peak / t < 8_000, peak / t  # bytes per frame at the peak, every copy included


# ----------------------------------------------------------------------------------------- case 4: one frame

def test_quaternion_continuity_keeps_a_single_frame():
    from inference.rotations import make_quaternions_continuous

    q = np.array([[[0.0, 0, 0, -1]]] * 1)  # [1,1,4]
    out = make_quaternions_continuous(q, dim=0)
    assert out.shape == (1, 1, 4) and np.array_equal(out, q)
    assert make_quaternions_continuous(np.zeros((0, 2, 4))).shape == (0, 2, 4)


def test_one_frame_motion_files_load(tmp_path):
    from inference.motion_io import load_motion, save_motion
    from inference.results import MotionFit

    m = MotionFit(pose=np.zeros((1, 24, 3)), transl=np.zeros((1, 3)), betas=np.zeros(10), fps=30)
    for suffix in (".npz", ".smpl"):
        assert load_motion(save_motion(m, tmp_path / f"one{suffix}")).num_frames == 1
    assert load_motion(hostile.smpl_file(tmp_path / "one_direct.smpl", frames=1)).num_frames == 1


def test_zero_frame_smpl_is_one_clear_error(tmp_path):
    from inference.motion_io import load_motion

    with pytest.raises(BadInputError) as err:
        load_motion(hostile.smpl_file(tmp_path / "empty.smpl", frames=0, frame_count=0))
    assert "holds no frames" in _one_line(err)


# ----------------------------------------------------------------------------------------- case 6: malformed

@pytest.mark.parametrize("case", sorted(hostile.MOTION_CASES))
def test_malformed_motion_files_give_one_clear_error(tmp_path, case):
    from inference.motion_io import load_motion

    path = hostile.MOTION_CASES[case](tmp_path / f"{case}.npz")
    with pytest.raises(BadInputError) as err:
        load_motion(path)
    assert f"{case}.npz" in _one_line(err)


@pytest.mark.parametrize("case", ["nan_v_template", "no_faces", "metadata_not_json", "text_extra_vertex_ids"])
def test_body_cli_says_one_line_and_exits_2(tmp_path, capsys, case):
    from inference.cli import main

    path = hostile.MODEL_CASES[case](tmp_path / f"{case}.npz")
    assert main(["body", "convert", str(path), "--out", str(tmp_path / "out.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and case in err and "Traceback" not in err
    assert not (tmp_path / "out.npz").exists()


# ----------------------------------------------------------------------------------------- through the photo fit

REPO = Path(__file__).resolve().parents[2]


def test_photo_fit_with_an_absurd_exif_focal_uses_the_default_and_says_so(tmp_path):
    from PIL import Image as PILImage

    from inference.focal import focal_from_landmarks
    from inference.pipeline import Settings, fit_photo

    src = PILImage.open(REPO / "data" / "sample_photo.jpg")
    exif = PILImage.Exif()
    exif.get_ifd(0x8769)[0xA405] = 65535
    path = tmp_path / "f65535.jpg"
    src.save(path, exif=exif, quality=95)
    done = fit_photo(path, Settings(body="tiny", device="cpu"))
    fit, det = done.fit, done.detection
    w, h = src.size
    # as for a photo without EXIF: the focal length estimated from the body, not the absurd EXIF one
    assert fit.camera.fx == pytest.approx(focal_from_landmarks(det.keypoints2d, det.world_landmarks, w, h))
    assert fit.camera.fx < 3.1 * np.hypot(w, h)
    assert any("EXIF focal length (65535 mm" in n for n in fit.notes)
    assert np.abs(fit.transl).max() < 100  # metres, not kilometres


def test_fit_cli_with_a_nan_body_model_exits_2_and_writes_nothing(tmp_path, capsys):
    from inference.cli import main

    body = hostile.MODEL_CASES["nan_v_template"](tmp_path / "nan_body.npz")
    out = tmp_path / "fit.json"
    assert main(["fit", str(REPO / "data" / "sample_photo.jpg"), "--out", str(out), "--body", str(body),
                 "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nan_body.npz" in err and "'v_template'" in err and "NaN" in err
    assert not out.exists()
