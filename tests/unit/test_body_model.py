"""Numerics of the SMPL-format forward on the tiny model, against a plain numpy/scipy linear-blend-skinning
reference written here, and the in-process model cache of load_body."""

from __future__ import annotations

import os
import sys
import types

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from inference.body import BodyModel, load_body, tiny_model
from inference.body.load import clear_body_cache
from inference.body.smpl_io import save_body_model
from inference.errors import ModelFileError


def numpy_lbs(data, aa, betas, transl):
    """Reference SMPL forward for one body: aa [24,3], betas [K], transl [3] → (vertices [V,3], joints [24,3])."""
    rot = Rotation.from_rotvec(aa).as_matrix()  # [24,3,3]
    v_shaped = data.v_template + data.shapedirs @ betas
    j_rest = data.J_regressor @ v_shaped
    v_posed = v_shaped + data.posedirs @ (rot[1:] - np.eye(3)).ravel()
    world = np.zeros((24, 4, 4))
    for j, p in enumerate(data.parents):
        local = np.eye(4)
        local[:3, :3] = rot[j]
        local[:3, 3] = j_rest[j] - (j_rest[p] if p >= 0 else 0)
        world[j] = local if p < 0 else world[p] @ local
    skin = world.copy()
    skin[:, :3, 3] -= np.einsum("jab,jb->ja", world[:, :3, :3], j_rest)  # relative to the rest joint
    per_vertex = np.einsum("vj,jab->vab", data.weights, skin)
    verts = np.einsum("vab,vb->va", per_vertex[:, :3, :3], v_posed) + per_vertex[:, :3, 3]
    return verts + transl, world[:, :3, 3] + transl


@pytest.fixture(scope="module")
def tiny_pc():
    return tiny_model(pose_correctives=True)


def test_skinning_weights_are_a_partition_of_unity(tiny_data):
    np.testing.assert_allclose(tiny_data.weights.sum(1), 1.0, rtol=0, atol=1e-12)
    assert tiny_data.weights.min() >= 0


def test_rest_joints_are_the_regressed_template(tiny_data):
    model = BodyModel(tiny_data, dtype=torch.float64)
    out = model.forward(torch.zeros(1, 24, 3))
    expected = tiny_data.J_regressor @ tiny_data.v_template
    np.testing.assert_allclose(out.rest_joints[0].numpy(), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(out.joints[0, :24].numpy(), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(out.vertices[0].numpy(), tiny_data.v_template, rtol=0, atol=1e-12)


def test_forward_matches_numpy_reference(tiny_pc):
    model = BodyModel(tiny_pc, dtype=torch.float64)
    rng = np.random.default_rng(1)
    for _ in range(3):
        aa, betas, transl = 0.7 * rng.standard_normal((24, 3)), rng.standard_normal(10), rng.standard_normal(3)
        out = model.forward(aa[None], betas[None], transl[None])
        verts, joints = numpy_lbs(tiny_pc, aa, betas, transl)
        np.testing.assert_allclose(out.vertices[0].numpy(), verts, rtol=0, atol=1e-10)
        np.testing.assert_allclose(out.joints[0, :24].numpy(), joints, rtol=0, atol=1e-10)
        rest = tiny_pc.J_regressor @ (tiny_pc.v_template + tiny_pc.shapedirs @ betas)
        np.testing.assert_allclose(out.rest_joints[0].numpy(), rest, rtol=0, atol=1e-12)
        nose = tiny_pc.extra_vertex_ids["nose"]
        np.testing.assert_allclose(out.joints[0, 24].numpy(), verts[nose], rtol=0, atol=1e-10)


def test_batch_equals_singles(tiny_pc):
    model = BodyModel(tiny_pc)
    g = torch.Generator().manual_seed(2)
    pose, betas, transl = torch.randn(8, 24, 3, generator=g), torch.randn(8, 10, generator=g), torch.randn(8, 3)
    batch = model.forward(pose, betas, transl)
    for i in range(8):
        one = model.forward(pose[i:i + 1], betas[i:i + 1], transl[i:i + 1])
        torch.testing.assert_close(batch.vertices[i:i + 1], one.vertices, rtol=0, atol=1e-6)
        torch.testing.assert_close(batch.joints[i:i + 1], one.joints, rtol=0, atol=1e-6)


def test_fewer_betas_are_zero_padded(tiny_data):
    model = BodyModel(tiny_data, dtype=torch.float64)
    pose = 0.3 * torch.randn(2, 24, 3, dtype=torch.float64)
    betas = torch.randn(2, 4, dtype=torch.float64)
    full = torch.cat([betas, torch.zeros(2, 6, dtype=torch.float64)], 1)
    torch.testing.assert_close(model.forward(pose, betas).vertices, model.forward(pose, full).vertices)


def test_gradcheck_wrt_pose(tiny_pc):
    model = BodyModel(tiny_pc, dtype=torch.float64)
    g = torch.Generator().manual_seed(3)
    pose = (0.5 * torch.randn(1, 24, 3, generator=g, dtype=torch.float64)).requires_grad_()
    betas = torch.randn(1, 10, generator=g, dtype=torch.float64)
    picked = torch.arange(0, tiny_pc.num_vertices, 37)  # a spread subset keeps the Jacobian small

    def fn(p):
        out = model.forward(p, betas)
        return out.vertices[:, picked], out.joints

    assert torch.autograd.gradcheck(fn, (pose,), eps=1e-6, atol=1e-5)


# --- load_body ------------------------------------------------------------------------------------------------

@pytest.fixture
def fresh_cache():
    clear_body_cache()
    yield
    clear_body_cache()


def test_load_body_tiny_is_cached(fresh_cache):
    a = load_body("tiny")
    assert a.name == "tiny" and a.num_vertices == tiny_model().num_vertices
    assert load_body("tiny") is a
    assert load_body(a) is a  # an already-loaded model passes through


def test_load_body_file_cached_by_path_and_mtime(fresh_cache, tmp_path):
    path = save_body_model(tiny_model(num_betas=5), tmp_path / "m.npz")
    first = load_body(str(path))
    assert first.num_betas == 5
    assert load_body(path) is first
    assert load_body(tmp_path / "." / "m.npz") is first  # same resolved path
    save_body_model(tiny_model(num_betas=3), path)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a new modification time
    second = load_body(path)
    assert second is not first and second.num_betas == 3


def test_load_body_missing_file(fresh_cache, tmp_path):
    with pytest.raises(ModelFileError, match="not found.*'open'"):
        load_body(tmp_path / "SMPL_NEUTRAL.pkl")


def test_load_body_open_is_the_default(fresh_cache, monkeypatch):
    calls = []
    fake = types.ModuleType("inference.body.open_body")
    fake.load_open_body = lambda: calls.append(1) or tiny_model(num_betas=2)
    monkeypatch.setitem(sys.modules, "inference.body.open_body", fake)
    # once the real module was imported (by an earlier test), `from . import open_body` reads the attribute
    import inference.body

    monkeypatch.setattr(inference.body, "open_body", fake, raising=False)
    a = load_body()
    assert a.num_betas == 2 and load_body("open") is a and load_body("") is a and len(calls) == 1


def test_shaped_rest_body_matches_the_forward_and_pads_betas():
    import torch

    from inference.body import BodyModel
    from inference.errors import BadInputError

    data = tiny_model()
    betas = np.array([0.7, -1.2, 0.3])
    verts, joints = data.shaped(betas)
    out = BodyModel(data, dtype=torch.float64).forward(np.zeros((1, 24, 3)), betas[None], np.zeros((1, 3)))
    np.testing.assert_allclose(joints, out.rest_joints[0].numpy(), atol=1e-12)
    np.testing.assert_allclose(verts, out.vertices[0].numpy(), atol=1e-12)  # zero pose: the rest body
    assert data.padded_betas(betas).tolist() == [0.7, -1.2, 0.3] + [0.0] * (data.num_betas - 3)
    with pytest.raises(BadInputError, match="shape parameters"):
        data.padded_betas(np.zeros(data.num_betas + 1))


def test_posedirs_reach_the_torch_model_exactly_zero_or_not(tiny_data, tiny_pc):
    """BodyModel skips converting an all-zero posedirs (the open body's): it must still hold smplx's layout,
    and a model with pose correctives must keep its own values."""
    for data in (tiny_data, tiny_pc):
        m = BodyModel(data, dtype=torch.float64)
        want = data.posedirs.reshape(-1, 207).T
        assert tuple(m.posedirs.shape) == want.shape
        np.testing.assert_array_equal(m.posedirs.numpy(), want)
    assert not tiny_data.has_pose_correctives and tiny_pc.has_pose_correctives
