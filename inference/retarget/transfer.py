"""Per-bone world-orientation transfer between two rigs with different rests, and the pose bones' local values.

The idea: compare bones in world space, where rests differ only by where each bone points. For a mapped bone b
of the target, with source bone a playing the same role:
- G: the yaw about world up that turns the target's facing (its left-to-right hip axis) onto the source's,
  so a rig turned by its object transform (FBX's 90°, a rig facing +Y) still walks its own way.
- C_b: the smallest rotation turning the target bone's rest direction (after G) onto the source bone's rest
  direction. This absorbs T-pose vs A-pose, bone rolls and bone axes: nothing about local axes is assumed.
- D_a(t) = R_a(t) R_a(rest)ᵀ: the source bone's world rotation since its rest.
- The target bone's world rotation is R_b(t) = Gᵀ D_a(t) C_b G R_b(rest), so its direction at time t is
  Gᵀ D_a(t) d_a(rest) = Gᵀ d_a(t): the source's direction, turned to the target's facing.
Object scale and rotation enter only through world matrices (their rotation parts, by polar decomposition).
Chains of different lengths (spine, neck) sample the source's D along the chain at each target bone's middle
(by rest length) and interpolate between neighbouring source bones along the geodesic.

Shapes: T frames, N bones; matrices [.., 4, 4] are homogeneous, rotations [.., 3, 3], column vectors.
"""

from __future__ import annotations

import numpy as np

from ..rotations import axis_angle_to_matrix, matrix_to_axis_angle, rotation_between


def rotation_part(m: np.ndarray) -> np.ndarray:
    """The rotation of [..., 3+, 3+] matrices (their upper-left 3×3) by polar decomposition, so scaled and
    slightly sheared matrices give the nearest rotation → [..., 3, 3]."""
    a = np.asarray(m, dtype=np.float64)[..., :3, :3]
    u, _, vt = np.linalg.svd(a)
    d = np.sign(np.linalg.det(u @ vt))
    u = u.copy()
    u[..., :, 2] *= d[..., None]
    return u @ vt


def facing_alignment(src_left, src_right, tgt_left, tgt_right, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """G [3,3]: the rotation about `up` turning the target's right→left axis (two world points, e.g. the hips)
    onto the source's, both projected on the floor plane."""
    up = np.asarray(up, dtype=np.float64) / np.linalg.norm(up)

    def flat(a, b):
        v = np.asarray(a, float) - np.asarray(b, float)
        v = v - up * (v @ up)
        n = np.linalg.norm(v)
        if n < 1e-9:
            from ..errors import BadInputError

            raise BadInputError("the rig's left and right hips are at the same place seen from above: "
                                "cannot tell which way it faces")
        return v / n

    s, t = flat(src_left, src_right), flat(tgt_left, tgt_right)
    angle = np.arctan2(np.cross(t, s) @ up, t @ s)
    return axis_angle_to_matrix(up * angle)


def rest_correction(src_dir, tgt_dir, g) -> np.ndarray:
    """C [..., 3, 3]: the smallest rotation turning G·tgt_dir onto src_dir (directions [..., 3])."""
    tgt = np.asarray(tgt_dir, float) @ np.asarray(g, float).T
    return axis_angle_to_matrix(rotation_between(tgt, np.asarray(src_dir, float)))


def interpolate_rotations(r0, r1, w) -> np.ndarray:
    """Geodesic interpolation r0·exp(w·log(r0ᵀ r1)); r0, r1 [..., 3, 3], w broadcastable to [...]."""
    r0 = np.asarray(r0, float)
    rel = matrix_to_axis_angle(np.swapaxes(r0, -1, -2) @ np.asarray(r1, float))
    return r0 @ axis_angle_to_matrix(rel * np.asarray(w, float)[..., None])


def chain_samples(src_lengths, tgt_lengths):
    """Where each target chain bone's middle falls on the source chain, by fraction of the chain's rest length.

    Returns (lo [M], hi [M], w [M]): target bone i takes interpolate(D_src[lo], D_src[hi], w); beyond the
    first or last source middle it takes that source bone (clamped).
    """
    sl = np.asarray(src_lengths, float)
    tl = np.asarray(tgt_lengths, float)
    if len(sl) == 0 or len(tl) == 0 or (sl <= 0).any() or (tl <= 0).any():
        from ..errors import BadInputError

        raise BadInputError("a chain needs at least one bone of positive length on each rig")
    s_mid = (np.cumsum(sl) - sl / 2) / sl.sum()
    t_mid = (np.cumsum(tl) - tl / 2) / tl.sum()
    hi = np.clip(np.searchsorted(s_mid, t_mid), 0, len(sl) - 1)
    lo = np.clip(hi - 1, 0, len(sl) - 1)
    span = s_mid[hi] - s_mid[lo]
    w = np.where(span > 0, (t_mid - s_mid[lo]) / np.where(span > 0, span, 1.0), 0.0)
    return lo, hi, np.clip(w, 0.0, 1.0)


def distribute_chain(deltas, src_lengths, tgt_lengths) -> np.ndarray:
    """The source chain's world rotations deltas [T,K,3,3] sampled for a target chain of M bones → [T,M,3,3]."""
    deltas = np.asarray(deltas, float)
    lo, hi, w = chain_samples(src_lengths, tgt_lengths)
    return interpolate_rotations(deltas[:, lo], deltas[:, hi], np.broadcast_to(w, (deltas.shape[0], len(w))))


def transfer_rotation(delta, correction, g, tgt_rest_rot) -> np.ndarray:
    """R_b(t) = Gᵀ D(t) C G R_b(rest): delta [T,3,3] (or [T,M,3,3] with correction/rest [M,3,3])."""
    g = np.asarray(g, float)
    return g.T @ np.asarray(delta, float) @ (np.asarray(correction, float) @ g @ np.asarray(tgt_rest_rot, float))


def leg_scale(src_leg_length: float, tgt_leg_length: float) -> float:
    """How much farther the target travels than the source per stride: the ratio of leg lengths."""
    if not (src_leg_length > 0 and tgt_leg_length > 0):
        from ..errors import BadInputError

        raise BadInputError("a rig's legs have no length (hip, knee and ankle at one place): cannot scale travel")
    return float(tgt_leg_length) / float(src_leg_length)


def root_travel(src_pos, src_rest_pos, tgt_rest_pos, scale: float, g, in_place: bool = False,
                up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """World positions [T,3] of the target's root bone: its rest position plus the source root's displacement
    since rest [T,3] scaled by `scale` and turned by Gᵀ. `in_place` drops the displacement's floor-plane part
    (the bob up and down stays)."""
    up = np.asarray(up, float) / np.linalg.norm(up)
    disp = np.asarray(src_pos, float) - np.asarray(src_rest_pos, float)
    if in_place:
        disp = up * (disp @ up)[:, None]
    return np.asarray(tgt_rest_pos, float) + scale * disp @ np.asarray(g, float)


def pose_from_world(rest, parents, matrix_world, world_rot, root=None, root_pos=None, basis=None):
    """Pose-bone basis matrices that give bones the wanted world rotations (and the root a world position).

    Blender's pose chain (inherited rotation and scale, as rigs have by default): P_b = P_parent · L_b · B_b,
    L_b = rest_parentᵀ⁻¹·rest_b (armature space), world = matrix_world · P_b.
    rest [N,4,4] bones' rest (bone.matrix_local), parents [N] (-1 for none; parents come before children),
    matrix_world [4,4], world_rot {bone index: [T,3,3]}, root: index whose head goes to root_pos [T,3] (world),
    basis [N,4,4] or [T,N,4,4]: the basis of bones not in world_rot (default identity).
    Returns (basis [T,N,4,4], pose [T,N,4,4] armature space). Bones other than the root keep the translation
    their basis had.
    """
    rest = np.asarray(rest, float)
    n = len(rest)
    t = len(next(iter(world_rot.values()))) if world_rot else (len(root_pos) if root_pos is not None else 1)
    mw = np.asarray(matrix_world, float)
    r_obj_t = rotation_part(mw).T
    inv_mw = np.linalg.inv(mw)
    if basis is None:
        basis = np.eye(4)
    basis = np.broadcast_to(np.asarray(basis, float), (t, n, 4, 4)).copy()
    pose = np.empty((t, n, 4, 4))
    for b in range(n):
        p = parents[b]
        local_rest = rest[b] if p < 0 else np.linalg.inv(rest[p]) @ rest[b]
        frame = np.broadcast_to(local_rest, (t, 4, 4)) if p < 0 else pose[:, p] @ local_rest  # P_parent·L_b
        if b in world_rot:
            want = np.empty((t, 4, 4))
            want[:, :3, :3] = r_obj_t @ np.asarray(world_rot[b], float)
            want[:, 3] = (0.0, 0.0, 0.0, 1.0)
            want[:, :3, 3] = (frame @ basis[:, b])[:, :3, 3]
            if b == root and root_pos is not None:
                want[:, :3, 3] = np.asarray(root_pos, float) @ inv_mw[:3, :3].T + inv_mw[:3, 3]
            basis[:, b] = np.linalg.inv(frame) @ want
        pose[:, b] = frame @ basis[:, b]
    return basis, pose


def refine_basis(evaluated, basis, want, root_column: int | None = None):
    """One fixed-point step for rigs whose parent chains Blender evaluates differently from the plain pose chain
    (constraints on parent bones, as Rigify's MCH parents of its FK controls).

    evaluated [T,M,4,4]: the bones' pose matrices (armature space) Blender evaluated with `basis` [T,M,4,4];
    want [T,M,4,4]: the pose matrices wanted. Each bone's evaluated frame F = evaluated·basis⁻¹ (what its parent
    chain gives it) is taken as fixed and the basis solved: F⁻¹·want. Bones other than `root_column` keep their
    basis translation (only their rotation is wanted). Repeating converges in as many steps as the mapped chain
    is deep. Returns (basis [T,M,4,4], largest rotation error in radians before the step).
    """
    evaluated, basis, want = (np.asarray(x, float) for x in (evaluated, basis, want))
    rel = np.swapaxes(rotation_part(evaluated), -1, -2) @ rotation_part(want)
    err = float(np.arccos(np.clip((np.trace(rel, axis1=-2, axis2=-1) - 1) / 2, -1.0, 1.0)).max())
    frame = evaluated @ np.linalg.inv(basis)
    new = np.linalg.inv(frame) @ want
    keep = np.ones(new.shape[1], dtype=bool)
    if root_column is not None:
        keep[root_column] = False
    new[:, keep, :3, 3] = basis[:, keep, :3, 3]
    return new, err
