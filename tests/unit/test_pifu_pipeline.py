"""PIFu around the networks: the 512 crop, mesh files, image -> mesh and the CLI (deterministic weights)."""

import json
import struct
import sys

import numpy as np
import pytest
import torch

from golden_weights import deterministic_state_dict
from inference.errors import BadInputError, NoPersonError
from inference.pifu.crop import crop_for_pifu
from inference.pifu.meshio import write_mesh


def test_crop_centres_the_person_and_fills_the_height():
    h, w = 900, 700
    rgb = np.full((h, w, 3), 255, np.uint8)
    mask = np.zeros((h, w), np.float32)
    mask[200:800, 300:420] = 1  # a 600 px tall, 120 px wide "person", centre (360, 500)
    rgb[mask > 0] = (255, 0, 0)
    crop = crop_for_pifu(rgb, mask)
    assert crop.image.shape == (3, 512, 512) and crop.mask.shape == (512, 512)
    assert crop.side == pytest.approx(1.14 * 600)
    assert crop.origin == pytest.approx((360 - 342, 500 - 342))
    ys, xs = np.nonzero(crop.mask)
    # The person spans 1/1.14 of the crop's height, centred.
    assert (ys.max() + 1 - ys.min()) / 512 == pytest.approx(1 / 1.14, abs=0.01)
    assert (ys.min() + ys.max() + 1) / 2 == pytest.approx(256, abs=1.5)
    assert (xs.min() + xs.max() + 1) / 2 == pytest.approx(256, abs=1.5)
    # Inside the mask: red mapped to [-1,1]; outside: zero (masked), also where the square leaves the image.
    inside = crop.mask > 0
    np.testing.assert_allclose(crop.image[:, inside].mean(1), [1, -1, -1], atol=1e-2)  # edges resampled
    assert (crop.image[:, ~inside] == 0).all()


def test_crop_refuses_an_empty_mask_and_mismatched_sizes():
    rgb = np.zeros((50, 40, 3), np.uint8)
    with pytest.raises(NoPersonError):
        crop_for_pifu(rgb, np.zeros((50, 40)))
    with pytest.raises(BadInputError):
        crop_for_pifu(rgb, np.ones((40, 50)))


@pytest.fixture
def tetra():
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    f = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    c = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0.5]], np.float32)
    return v, f, c


def test_ply_read_back_by_an_independent_parser(tmp_path, tetra):
    v, f, c = tetra
    path = write_mesh(tmp_path / "m.ply", v, f, c)
    data = path.read_bytes()
    head, body = data.split(b"end_header\n", 1)
    assert b"element vertex 4" in head and b"property uchar red" in head and b"element face 4" in head
    verts = np.frombuffer(body[:4 * 15], dtype=[("p", "<f4", 3), ("c", "u1", 3)])
    np.testing.assert_array_equal(verts["p"], v)
    np.testing.assert_array_equal(verts["c"], [[255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128]])
    faces = np.frombuffer(body[4 * 15:], dtype=[("n", "u1"), ("i", "<i4", 3)])
    assert (faces["n"] == 3).all()
    np.testing.assert_array_equal(faces["i"], f)


def test_obj_and_glb(tmp_path, tetra):
    v, f, c = tetra
    lines = write_mesh(tmp_path / "m.obj", v, f, c).read_text().splitlines()
    vs = np.array([[float(x) for x in ln.split()[1:]] for ln in lines if ln.startswith("v ")])
    np.testing.assert_allclose(vs, np.concatenate([v, c], 1), atol=1e-6)
    fs = np.array([[int(x) for x in ln.split()[1:]] for ln in lines if ln.startswith("f ")])
    np.testing.assert_array_equal(fs, f + 1)
    data = write_mesh(tmp_path / "m.glb", v, f, c).read_bytes()
    magic, version, length = struct.unpack("<III", data[:12])
    assert magic == 0x46546C67 and version == 2 and length == len(data)
    jlen, _ = struct.unpack("<II", data[12:20])
    doc = json.loads(data[20:20 + jlen])
    binary = data[20 + jlen + 8:]
    acc = doc["accessors"]
    views = doc["bufferViews"]
    pos = np.frombuffer(binary, "<f4", 12, views[acc[0]["bufferView"]]["byteOffset"]).reshape(4, 3)
    idx = np.frombuffer(binary, "<u4", 12, views[acc[1]["bufferView"]]["byteOffset"]).reshape(4, 3)
    col_acc = acc[doc["meshes"][0]["primitives"][0]["attributes"]["COLOR_0"]]
    col = np.frombuffer(binary, "<f4", 12, views[col_acc["bufferView"]]["byteOffset"]).reshape(4, 3)
    np.testing.assert_array_equal(pos, v)
    np.testing.assert_array_equal(idx, f)
    np.testing.assert_allclose(col, c)
    with pytest.raises(BadInputError):
        write_mesh(tmp_path / "m.stl", v, f, c)


@pytest.fixture(scope="module")
def checkpoints(golden_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("ckpt")
    for n in "GC":
        torch.save(deterministic_state_dict(golden_dir / f"pifu_net_{n}_state_dict.tsv"), d / f"net_{n}")
    return d / "net_G", d / "net_C"


@pytest.mark.slow
def test_cli_photo_to_coloured_mesh(checkpoints, photos_dir, tmp_path, monkeypatch):
    """The whole path with deterministic weights: a real photo, a synthetic person mask (MediaPipe is
    exercised by the detect tests), a 17³ lossless grid, every vertex coloured."""
    from inference import cli
    from inference.images import load_image
    from inference.pifu import reconstruct as rec

    photo = sorted(photos_dir.glob("*.jpg"))[0]
    rgb = load_image(photo).rgb
    mask = np.zeros(rgb.shape[:2], np.float32)
    mask[rgb.shape[0] // 5:-rgb.shape[0] // 5, rgb.shape[1] // 3:-rgb.shape[1] // 3] = 1

    class FakeDetection:
        pass

    det = FakeDetection()
    det.mask = mask
    monkeypatch.setitem(sys.modules, "inference.detect", type(sys)("fake_detect"))
    sys.modules["inference.detect"].detect_person = lambda image, name="": det
    out = tmp_path / "mesh.ply"
    rc = cli.main(["pifu", str(photo), "--net-g", str(checkpoints[0]), "--net-c", str(checkpoints[1]),
                   "--out", str(out), "--resolution", "16", "--mode", "lossless", "--device", "cpu"])
    assert rc == 0
    head, body = out.read_bytes().split(b"end_header\n", 1)
    nv = int(head.split(b"element vertex ")[1].split(b"\n")[0])
    nf = int(head.split(b"element face ")[1].split(b"\n")[0])
    assert nv > 0 and nf > 0 and len(body) == nv * 15 + nf * 13
    # The same run through the API: colours at every vertex, vertices in the box.
    mesh = rec.reconstruct(rgb, checkpoints[0], checkpoints[1], resolution=16, device="cpu", mask=mask)
    assert len(mesh.colours) == len(mesh.vertices) == nv
    assert np.abs(mesh.vertices).max() <= 1
    assert mesh.faces.max() < nv


def test_cli_without_checkpoints_says_what_to_get(tmp_path, capsys):
    from inference import cli

    rc = cli.main(["pifu", "photo.jpg", "--net-g", str(tmp_path / "net_G"), "--net-c", str(tmp_path / "net_C"),
                   "--out", str(tmp_path / "m.ply")])
    err = capsys.readouterr().err
    assert rc == 2 and "net_G" in err and "net_C" in err and "PIFu" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.ply").exists()


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_network_output_blames_the_network(checkpoints, monkeypatch, bad):
    """A shape network whose occupancy is NaN used to end in 'PIFu found no surface ... check that the photo
    shows one whole person' (NaN never crosses 0.5): the photo was blamed for the network (issue 14, case 9)."""
    from inference.errors import ModelFileError, NoPersonError
    from inference.pifu import query
    from inference.pifu import reconstruct as rec

    real = query.occupancy_fn

    def poisoned(net_g, features, calib):
        fn = real(net_g, features, calib)
        return lambda points: fn(points) * 0 + bad
    monkeypatch.setattr(query, "occupancy_fn", poisoned)
    rgb = np.zeros((64, 48, 3), np.uint8)
    mask = np.zeros((64, 48), np.float32)
    mask[8:56, 12:36] = 1
    with pytest.raises(ModelFileError, match=r"shape network \(net_G\).*non-finite") as err:
        rec.reconstruct(rgb, checkpoints[0], None, resolution=16, device="cpu", mask=mask)
    assert not isinstance(err.value, NoPersonError)


def test_non_finite_colour_network_blames_it(checkpoints, monkeypatch):
    from inference.errors import ModelFileError
    from inference.pifu import query
    from inference.pifu import reconstruct as rec

    monkeypatch.setattr(query, "colours_at", lambda *a, **k: np.full((len(a[3]), 3), np.nan, np.float32))
    rgb = np.zeros((64, 48, 3), np.uint8)
    mask = np.zeros((64, 48), np.float32)
    mask[8:56, 12:36] = 1
    with pytest.raises(ModelFileError, match=r"colour network \(net_C\)"):
        rec.reconstruct(rgb, checkpoints[0], checkpoints[1], resolution=16, device="cpu", mask=mask)


def test_resolution_is_bounded_before_any_work(tmp_path, capsys):
    """--resolution 3000 ran for over 300 s; it is refused by the argument parser, with one line and exit 2."""
    from inference import cli
    from inference.pifu.cli import MAX_RESOLUTION

    for value in ("3000", str(MAX_RESOLUTION + 1), "15", "nan"):
        with pytest.raises(SystemExit) as exit_:
            cli.main(["pifu", "photo.jpg", "--net-g", str(tmp_path / "net_G"), "--out", str(tmp_path / "m.ply"),
                      "--resolution", value])
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1 and "--resolution" in err, err


def test_api_refuses_a_resolution_out_of_bounds_before_loading_anything(tmp_path):
    from inference.errors import BadInputError
    from inference.pifu.reconstruct import MAX_RESOLUTION, reconstruct

    with pytest.raises(BadInputError, match=str(MAX_RESOLUTION)):
        reconstruct(np.zeros((8, 8, 3), np.uint8), tmp_path / "net_G", resolution=3000)
