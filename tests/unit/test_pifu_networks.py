"""PIFu's net_G / net_C: same parameter names, shapes and order as the released files, same functions as the
authors' code (golden vectors computed by their model code), strict and safe loading."""

import pickle

import numpy as np
import pytest
import torch

from golden_weights import deterministic_state_dict, read_manifest
from inference.errors import ModelFileError
from inference.pifu.checkpoints import load_networks, load_state_dict_into
from inference.pifu.networks import ColorNet, ShapeNet


@pytest.fixture(scope="module")
def golden_nets(golden_dir):
    """(ShapeNet, ColorNet) in eval mode with the README's deterministic weights, loaded strictly."""
    g, c = ShapeNet(), ColorNet()
    g.load_state_dict(deterministic_state_dict(golden_dir / "pifu_net_G_state_dict.tsv"), strict=True)
    c.load_state_dict(deterministic_state_dict(golden_dir / "pifu_net_C_state_dict.tsv"), strict=True)
    return g.eval(), c.eval()


@pytest.mark.parametrize("cls,name", [(ShapeNet, "G"), (ColorNet, "C")])
def test_state_dict_layout_equals_the_released_files(golden_dir, cls, name):
    manifest = read_manifest(golden_dir / f"pifu_net_{name}_state_dict.tsv")
    ours = [(k, tuple(v.shape), str(v.dtype).replace("torch.", "")) for k, v in cls().state_dict().items()]
    assert ours == manifest


def test_golden_occupancy_and_colour(golden_dir, golden_nets):
    g, c = golden_nets
    z = np.load(golden_dir / "pifu_golden.npz")
    image, calib, points = (torch.from_numpy(z[k]) for k in ("image", "calib", "points"))
    with torch.no_grad():
        feat = g.filter(image)
        assert feat.shape == (1, 256, 128, 128)
        occ = g.query(points, calib, feat)
        col = c.query(points, calib, c.filter(image, feat))
    assert occ.shape == (1, 1, 64) and col.shape == (1, 3, 64)
    np.testing.assert_allclose(occ.numpy(), z["occupancy"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(col.numpy(), z["color"], atol=1e-4, rtol=0)
    # Points projected outside the image square are empty, whatever the network says.
    outside = points.clone()
    outside[0, 0] = 1.5
    with torch.no_grad():
        assert (g.query(outside, calib, feat) == 0).all()


@pytest.fixture(scope="module")
def color_file(golden_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("pifu") / "net_C"
    torch.save(deterministic_state_dict(golden_dir / "pifu_net_C_state_dict.tsv"), path)
    return path


def test_loads_a_raw_state_dict_file(color_file, golden_dir):
    net = load_state_dict_into(ColorNet(), color_file, "net_C (colour)")
    ref = deterministic_state_dict(golden_dir / "pifu_net_C_state_dict.tsv")
    key = "surface_classifier.conv4.weight"
    assert torch.equal(net.state_dict()[key], ref[key])


def test_missing_and_unexpected_keys_are_named(color_file, tmp_path):
    state = torch.load(color_file, weights_only=True)
    del state["image_filter.model.15.conv_block.5.weight"]
    state["image_filter.model.15.conv_block.6.weight"] = torch.ones(256)
    bad = tmp_path / "net_C"
    torch.save(state, bad)
    with pytest.raises(ModelFileError) as err:
        load_state_dict_into(ColorNet(), bad, "net_C (colour)")
    msg = str(err.value)
    assert "missing keys: image_filter.model.15.conv_block.5.weight" in msg
    assert "unexpected keys: image_filter.model.15.conv_block.6.weight" in msg


def test_wrong_shapes_are_named(color_file, tmp_path):
    state = torch.load(color_file, weights_only=True)
    state["surface_classifier.conv4.bias"] = torch.zeros(4)
    bad = tmp_path / "net_C"
    torch.save(state, bad)
    with pytest.raises(ModelFileError, match=r"surface_classifier.conv4.bias \(4,\) != \(3,\)"):
        load_state_dict_into(ColorNet(), bad, "net_C (colour)")


class _Boom:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_files_that_would_execute_code_are_refused(tmp_path, capsys):
    bad = tmp_path / "net_G"
    torch.save({"x": _Boom()}, bad)
    with pytest.raises(ModelFileError, match=r"refused: besides tensors it names code"):
        load_state_dict_into(ShapeNet(), bad, "net_G (shape)")
    assert "must never run" not in capsys.readouterr().out
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ModelFileError):
        load_state_dict_into(ShapeNet(), plain, "net_G (shape)")


def test_missing_checkpoints_say_what_to_get(tmp_path):
    with pytest.raises(ModelFileError) as err:
        load_networks(tmp_path / "net_G", tmp_path / "net_C")
    msg = str(err.value)
    assert "net_G" in msg and "net_C" in msg and "shunsukesaito/PIFu" in msg and "--net-g" in msg
