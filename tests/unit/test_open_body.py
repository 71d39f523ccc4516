"""The open body: built once per session (into the test cache) from `anny`, checked against independent facts:
anatomy (heights, T-pose, facing), Anny's own skeleton on fresh phenotypes, and smplx's own SMPL forward."""

from __future__ import annotations

import numpy as np
import pytest

from inference.body.skeleton import JOINT_INDEX, SMPL_JOINT_NAMES

J = JOINT_INDEX


@pytest.fixture(scope="session")
def open_data():
    from inference.body.open_body import load_open_body

    return load_open_body()


@pytest.fixture(scope="session")
def body(open_data):
    from inference.body import BodyModel

    return BodyModel(open_data)


@pytest.fixture(scope="session")
def rest(body):
    out = body.forward(np.zeros((1, 24, 3)))
    return out.vertices[0].numpy().astype(np.float64), out.joints[0].numpy().astype(np.float64)


def test_rest_height_in_adult_range(open_data):
    height = np.ptp(open_data.v_template[:, 1])
    assert 1.6 <= height <= 1.9, height


def test_layout_weights_and_uvs(open_data):
    d = open_data
    assert d.num_vertices > 10000 and d.f.shape[1] == 3
    np.testing.assert_allclose(d.weights.sum(1), 1.0, atol=1e-9)
    assert d.weights.min() >= 0
    np.testing.assert_allclose(d.J_regressor.sum(1), 1.0, atol=1e-9)
    assert not d.has_pose_correctives
    assert d.vt is not None and d.ft.shape == d.f.shape and d.ft.max() < len(d.vt)
    assert set(d.extra_vertex_ids) == {"nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_big_toe",
                                       "right_big_toe", "left_small_toe", "right_small_toe", "left_heel",
                                       "right_heel"}
    # pelvis of the rest body at about the origin, like SMPL's
    pelvis = d.J_regressor[0] @ d.v_template
    assert np.linalg.norm(pelvis) < 0.02, pelvis


def test_t_pose_joints(body, rest):
    _, joints = rest
    assert body.joint_names[:24] == SMPL_JOINT_NAMES
    for side, sign in (("left", 1.0), ("right", -1.0)):
        sh, el, wr, ha = (joints[J[f"{side}_{n}"]] for n in ("shoulder", "elbow", "wrist", "hand"))
        assert abs(wr[1] - sh[1]) < 0.03 and abs(ha[1] - sh[1]) < 0.03  # wrists at shoulder height
        arm = (wr - sh) / np.linalg.norm(wr - sh)
        assert arm @ np.array([sign, 0, 0]) > 0.99  # along +-X
        assert sign * sh[0] < sign * el[0] < sign * wr[0] < sign * ha[0]
        hip, knee, ankle = (joints[J[f"{side}_{n}"]] for n in ("hip", "knee", "ankle"))
        assert ankle[1] < knee[1] - 0.3 < hip[1] - 0.6
        leg = (ankle - hip) / np.linalg.norm(ankle - hip)
        assert leg @ np.array([0, -1.0, 0]) > 0.99  # legs straight down
        assert sign * hip[0] > 0.05  # the left side is +X, as in SMPL
    assert joints[J["head"], 1] > joints[J["neck"], 1] > joints[J["spine3"], 1] > joints[J["pelvis"], 1]


def test_faces_plus_z_with_palms_down(open_data, rest):
    from inference.body.open_body import smplx_vertex_ids

    verts, joints = rest
    ids = open_data.extra_vertex_ids
    assert verts[ids["nose"], 2] > joints[J["pelvis"], 2] + 0.05
    assert verts[ids["nose"], 1] > joints[J["neck"], 1]
    for side in ("left", "right"):
        assert verts[ids[f"{side}_big_toe"], 2] > verts[ids[f"{side}_heel"], 2] + 0.15
    tips = smplx_vertex_ids()
    for s, side in (("l", "left"), ("r", "right")):  # palms down: the thumb in front of the little finger
        assert verts[tips[s + "thumb"], 2] > verts[tips[s + "pinky"], 2] + 0.03
        assert abs(verts[tips[s + "middle"], 1] - joints[J[f"{side}_wrist"], 1]) < 0.05


def test_shape_components_change_height(open_data, body):
    assert open_data.num_betas >= 10
    assert np.all(np.linalg.norm(open_data.shapedirs[:, :, :10], axis=(0, 1)) > 1e-3)
    betas = np.zeros((3, open_data.num_betas))
    betas[1, 0], betas[2, 0] = -2.0, 2.0
    v = body.forward(np.zeros((3, 24, 3)), betas=betas).vertices.numpy()
    heights = np.ptp(v[:, :, 1], axis=1)
    assert heights[2] - heights[1] > 0.1, heights


def test_regressor_follows_anny_skeleton_on_new_phenotypes(open_data):
    """Fresh phenotypes (a seed the build never used): joints of Anny's own re-posed skeleton vs the regressor."""
    from inference.body._open_body_rig import load_anny
    from inference.body.open_body import sample_phenotypes, tposed_samples

    model = load_anny()
    phen = sample_phenotypes(6, seed=987_654, labels=list(model.phenotype_labels))
    verts, joints = tposed_samples(model, phen)
    pred = np.einsum("jv,nvc->njc", open_data.J_regressor, verts)
    err = np.linalg.norm(pred - joints, axis=-1)
    assert err.mean() < 0.005, err.mean(0)
    assert err.mean(0).max() < 0.012, err.mean(0)  # no joint far off


def test_smplx_loads_pkl_and_poses_like_body_model(open_data, body, tmp_path_factory):
    import smplx
    import torch

    from inference.body.open_body import open_body_path, smplx_vertex_ids

    pkl = open_body_path(out=tmp_path_factory.mktemp("ob") / "open_body.pkl", progress=False)
    assert (pkl.parent / "NOTICE-open-body.md").is_file()
    ref = smplx.SMPL(model_path=str(pkl), vertex_ids=smplx_vertex_ids())
    rng = np.random.default_rng(3)
    pose = 0.4 * rng.standard_normal((2, 24, 3))
    betas = rng.standard_normal((2, 10))
    transl = 0.1 * rng.standard_normal((2, 3))
    f32 = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    with torch.no_grad():
        out = ref(global_orient=f32(pose[:, 0]), body_pose=f32(pose[:, 1:].reshape(2, -1)), betas=f32(betas),
                  transl=f32(transl))
        ours = body.forward(pose, betas=betas, transl=transl)
    np.testing.assert_allclose(out.vertices.numpy(), ours.vertices.numpy(), atol=1e-5)
    np.testing.assert_allclose(out.joints[:, :24].numpy(), ours.joints[:, :24].numpy(), atol=1e-5)


def test_left_knee_flexion_moves_ankle_back_and_up(body, rest):
    _, joints0 = rest
    pose = np.zeros((1, 24, 3))
    pose[0, J["left_knee"], 0] = np.pi / 2
    joints = body.forward(pose).joints[0].numpy()
    ankle0, ankle = joints0[J["left_ankle"]], joints[J["left_ankle"]]
    shin = np.linalg.norm(joints0[J["left_ankle"]] - joints0[J["left_knee"]])
    assert ankle[2] < ankle0[2] - 0.8 * shin  # backward
    assert ankle[1] > ankle0[1] + 0.8 * shin  # up
    np.testing.assert_allclose(joints[J["right_ankle"]], joints0[J["right_ankle"]], atol=1e-6)


def test_cache_is_stamped_and_instant(open_data):
    from inference.body.open_body import build_stamp, open_body_path

    path = open_body_path(progress=False)  # built by the fixture already
    before = path.stat().st_mtime_ns
    assert open_body_path(progress=False) == path
    assert path.stat().st_mtime_ns == before  # served from the cache, not rebuilt
    assert path.name == "open_body_v2.npz" and (path.parent / "NOTICE-open-body.md").is_file()
    with np.load(path, allow_pickle=False) as z:
        import json

        meta = json.loads(str(z["metadata_json"]))
    assert meta["build_stamp"] == build_stamp()
    assert meta["regressor_held_out_mean_mm"] < 5.0
    assert 1.6 <= meta["rest_height_m"] <= 1.9


def test_npz_out_round_trips_through_smpl_io(open_data, tmp_path):
    smpl_io = pytest.importorskip("inference.body.smpl_io")
    from inference.body.open_body import open_body_path

    path = open_body_path(out=tmp_path / "body", fmt="npz", progress=False)
    assert path.suffix == ".npz"
    back = smpl_io.load_body_model(path)
    np.testing.assert_array_equal(back.f, open_data.f)
    np.testing.assert_allclose(back.shapedirs, open_data.shapedirs)
    np.testing.assert_allclose(back.J_regressor, open_data.J_regressor)
    assert back.extra_vertex_ids == open_data.extra_vertex_ids
