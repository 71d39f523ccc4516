"""A tiny procedural SMPL-format model (about 400 vertices, SMPL's 24 joints) for fast tests.

It is a tube skeleton: a ring of vertices around every joint and one halfway along every bone, joined into
tubes. Each joint is the centroid of its own ring, so the joint regressor (1/8 on the ring) places the joints
exactly and they follow the shape. Nothing about it is SMPL's data: the rest joints are rough human
proportions in metres (Y up, facing +Z).
"""

from __future__ import annotations

import numpy as np

from .model import BodyModelData
from .skeleton import NUM_JOINTS, NUM_POSE_CORRECTIVES, SMPL_PARENTS

# Rough rest-pose joint positions (metres, Y up, +Z forward, +X is the body's left), T-pose.
_REST_JOINTS = np.array([
    [0.00, 0.95, 0.00], [0.09, 0.86, 0.00], [-0.09, 0.86, 0.00], [0.00, 1.06, -0.01],
    [0.10, 0.49, 0.00], [-0.10, 0.49, 0.00], [0.00, 1.19, 0.01], [0.10, 0.08, -0.03],
    [-0.10, 0.08, -0.03], [0.00, 1.25, 0.02], [0.11, 0.02, 0.10], [-0.11, 0.02, 0.10],
    [0.00, 1.47, -0.01], [0.07, 1.38, 0.00], [-0.07, 1.38, 0.00], [0.00, 1.58, 0.04],
    [0.18, 1.40, -0.01], [-0.18, 1.40, -0.01], [0.44, 1.40, -0.03], [-0.44, 1.40, -0.03],
    [0.69, 1.40, -0.02], [-0.69, 1.40, -0.02], [0.77, 1.40, -0.02], [-0.77, 1.40, -0.02],
])
_RING = 8
_RADIUS = 0.04


def _ring(center, direction, radius):
    d = direction / (np.linalg.norm(direction) + 1e-12)
    helper = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(d, helper)
    u /= np.linalg.norm(u)
    w = np.cross(d, u)
    a = np.linspace(0, 2 * np.pi, _RING, endpoint=False)
    return center + radius * (np.cos(a)[:, None] * u + np.sin(a)[:, None] * w)


def tiny_model(num_betas: int = 10, pose_correctives: bool = False, seed: int = 0) -> BodyModelData:
    """Build the tiny model. `pose_correctives=True` fills posedirs with small smooth values (else zero)."""
    rng = np.random.default_rng(seed)
    parents = np.array(SMPL_PARENTS)
    children = {j: [c for c in range(NUM_JOINTS) if parents[c] == j] for j in range(NUM_JOINTS)}

    def bone_dir(j):
        if children[j]:
            return _REST_JOINTS[children[j][0]] - _REST_JOINTS[j]
        return _REST_JOINTS[j] - _REST_JOINTS[parents[j]]

    verts, weights, faces, uv = [], [], [], []
    ring_start = {}
    for j in range(NUM_JOINTS):  # one ring per joint, weighted to its own joint (and half to the parent)
        ring_start[j] = len(verts)
        verts.extend(_ring(_REST_JOINTS[j], bone_dir(j), _RADIUS))
        w = np.zeros(NUM_JOINTS)
        if parents[j] >= 0:
            w[j], w[parents[j]] = 0.5, 0.5
        else:
            w[j] = 1.0
        weights.extend([w] * _RING)
        uv.extend([[k / _RING, j / NUM_JOINTS] for k in range(_RING)])

    def tube(a, b):
        for k in range(_RING):
            k1 = (k + 1) % _RING
            faces.append([a + k, a + k1, b + k1])
            faces.append([a + k, b + k1, b + k])

    for c in range(1, NUM_JOINTS):  # a mid-bone ring, rigid with the parent joint
        p = parents[c]
        mid = len(verts)
        verts.extend(_ring(0.5 * (_REST_JOINTS[p] + _REST_JOINTS[c]), _REST_JOINTS[c] - _REST_JOINTS[p],
                           _RADIUS * 1.1))
        w = np.zeros(NUM_JOINTS)
        w[p] = 1.0
        weights.extend([w] * _RING)
        uv.extend([[k / _RING, (c + 0.5) / NUM_JOINTS] for k in range(_RING)])
        tube(ring_start[p], mid)
        tube(mid, ring_start[c])

    v = np.asarray(verts)
    nv = len(v)
    weights = np.asarray(weights)
    j_reg = np.zeros((NUM_JOINTS, nv))
    for j in range(NUM_JOINTS):
        j_reg[j, ring_start[j]:ring_start[j] + _RING] = 1.0 / _RING

    # Shape space: height scale about the feet, girth, then smooth random per-joint displacements
    # carried to the vertices by the skinning weights (so joints follow shape through the regressor).
    shapedirs = np.zeros((nv, 3, num_betas))
    if num_betas > 0:
        shapedirs[:, 1, 0] = 0.05 * v[:, 1]
        shapedirs[:, [0, 2], 0] = 0.02 * v[:, [0, 2]]
    if num_betas > 1:
        owner = weights.argmax(1)
        shapedirs[:, :, 1] = 0.3 * (v - _REST_JOINTS[owner])
    for k in range(2, num_betas):
        disp = 0.01 * rng.standard_normal((NUM_JOINTS, 3))
        shapedirs[:, :, k] = weights @ disp
    posedirs = np.zeros((nv, 3, NUM_POSE_CORRECTIVES))
    if pose_correctives:
        posedirs = 0.002 * np.tanh(rng.standard_normal((nv, 3, NUM_POSE_CORRECTIVES)))

    faces = np.asarray(faces)
    return BodyModelData(
        v_template=v, shapedirs=shapedirs, posedirs=posedirs, J_regressor=j_reg, weights=weights,
        kintree_table=np.stack([parents, np.arange(NUM_JOINTS)]), f=faces,
        vt=np.asarray(uv), ft=faces.copy(),
        extra_vertex_ids={"nose": ring_start[15] + 2}, name="tiny", gender="neutral",
    )
