"""The whole retarget of one motion, on plain arrays: what operators/retarget.py calls between reading and keying.

Rig [N bones]: names, parents (index, -1 for none, parents first), rest [N,4,4] (bone.matrix_local, armature
space), matrix_world [4,4], basis [N,4,4] (the pose bones' current basis, kept for bones that are not mapped).
Source motion: its pose-bone matrices [T,N,4,4] (pose_bone.matrix, armature space) at each frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import BadInputError
from . import footlock
from .roles import AIM, PARENT, ROLES, ROOT
from .transfer import (chain_samples, distribute_chain, facing_alignment, leg_scale, pose_from_world,
                       rest_correction, root_travel, rotation_part, transfer_rotation)

UP = np.array([0.0, 0.0, 1.0])  # Blender's world up


@dataclass(frozen=True)
class Rig:
    """An armature as arrays (see the module docstring)."""

    names: tuple
    parents: np.ndarray
    rest: np.ndarray
    matrix_world: np.ndarray
    basis: np.ndarray | None = None

    def index(self, name: str) -> int:
        return self.names.index(name)

    def rest_world(self) -> np.ndarray:
        return np.asarray(self.matrix_world, float) @ np.asarray(self.rest, float)


@dataclass(frozen=True)
class Options:
    in_place: bool = False  # no root travel along the floor (the up-down bob stays)
    foot_lock: bool = False  # keep the source's planted feet planted on the target (IK on the legs)
    fps: float = 30.0  # for the planted-foot speed test
    contact_speed: float = 0.15  # m/s on the source: slower than this and near the floor = planted
    contact_height: float = 0.04  # m above the source ankle's lowest point
    blend: int = 3  # frames to ease in and out of a lock


@dataclass
class Result:
    """basis [T,N,4,4] of the target's pose bones; `rotated`: bone indices to key (rotation); `root`: the bone
    whose location is keyed; `scale`: the travel scale; `planted` {side: [T] bool} when feet were locked."""

    basis: np.ndarray
    pose: np.ndarray
    rotated: tuple
    root: int
    scale: float
    unmapped: tuple
    planted: dict = field(default_factory=dict)


def _bones(rig: Rig, bone_map, role) -> list:
    names = bone_map.bones.get(role) or ()
    missing = [n for n in names if n not in rig.names]
    if missing:
        raise BadInputError(f"the bone map's role '{role}' names bones the armature lacks: {missing}")
    return [rig.index(n) for n in names]


def _segments(heads, idx, aim_idx):
    """Directions [k,3] and lengths [k] of a role's bones: each head to the next, the last to the aim's head."""
    pts = heads[idx + ([aim_idx] if aim_idx is not None else [])]
    if aim_idx is None:
        return None, np.ones(len(idx))
    seg = np.diff(pts, axis=0)
    return seg, np.linalg.norm(seg, axis=1)


def _leg_length(heads, rig_map_idx):
    lengths = []
    for side in ("left", "right"):
        hip, knee, ankle = (rig_map_idx.get(f"{side}_{j}") for j in ("hip", "knee", "ankle"))
        if hip and knee and ankle:
            lengths.append(np.linalg.norm(heads[knee[0]] - heads[hip[0]]) + np.linalg.norm(heads[ankle[0]] - heads[knee[0]]))
    if not lengths:
        raise BadInputError("map the hips, knees and ankles of both rigs: travel is scaled by leg length")
    return float(np.mean(lengths))


def retarget(src: Rig, src_map, src_pose, tgt: Rig, tgt_map, options: Options = Options()) -> Result:
    """Target basis matrices that make `tgt` move like `src` does in src_pose [T,Ns,4,4] (see transfer.py)."""
    src_pose = np.asarray(src_pose, float)
    if src_pose.ndim != 4 or src_pose.shape[1:] != (len(src.names), 4, 4) or len(src_pose) == 0:
        raise BadInputError(f"the source motion must be [T,{len(src.names)},4,4] pose matrices, got {src_pose.shape}")
    for role in (ROOT, "left_hip", "right_hip"):
        for rig_map, which in ((src_map, "source"), (tgt_map, "target")):
            if not rig_map.bones.get(role):
                raise BadInputError(f"the {which} bone map has no bone for '{role}': it is needed to place and face the rig")
    s_idx = {r: _bones(src, src_map, r) for r in ROLES if src_map.bones.get(r)}
    t_idx = {r: _bones(tgt, tgt_map, r) for r in ROLES if tgt_map.bones.get(r)}
    roles = [r for r in ROLES if r in s_idx and r in t_idx]

    s_rest_w, t_rest_w = src.rest_world(), tgt.rest_world()
    s_heads, t_heads = s_rest_w[:, :3, 3], t_rest_w[:, :3, 3]
    g = facing_alignment(s_heads[s_idx["left_hip"][0]], s_heads[s_idx["right_hip"][0]],
                         t_heads[t_idx["left_hip"][0]], t_heads[t_idx["right_hip"][0]], UP)
    s_world = np.asarray(src.matrix_world, float) @ src_pose  # [T,Ns,4,4]
    rs, rs0 = rotation_part(s_world), rotation_part(s_rest_w)
    rt0 = rotation_part(t_rest_w)

    world_rot, last_correction = {}, {}
    for role in roles:
        a, b = s_idx[role], t_idx[role]
        aim = AIM[role] if AIM[role] in s_idx and AIM[role] in t_idx else None
        s_dir, s_len = _segments(s_heads, a, s_idx[aim][0] if aim else None)
        t_dir, t_len = _segments(t_heads, b, t_idx[aim][0] if aim else None)
        delta = rs[:, a] @ np.swapaxes(rs0[a], -1, -2)[None]  # [T,k,3,3]
        if len(a) == len(b):
            delta_b, src_for_b = delta, np.arange(len(a))
        else:
            delta_b = distribute_chain(delta, s_len, t_len)
            lo, hi, w = chain_samples(s_len, t_len)
            src_for_b = np.where(w > 0.5, hi, lo)
        for i, bone in enumerate(b):
            if role == ROOT:
                corr = np.eye(3)
            elif aim is not None and s_len[src_for_b[i]] > 1e-9 and t_len[i] > 1e-9:
                corr = rest_correction(s_dir[src_for_b[i]], t_dir[i], g)
            else:  # a leaf keeps its parent role's correction
                parent = PARENT[role]
                while parent is not None and parent not in last_correction:
                    parent = PARENT[parent]
                corr = last_correction.get(parent, np.eye(3))
            world_rot[bone] = transfer_rotation(delta_b[:, i], corr, g, rt0[bone])
        last_correction[role] = corr

    scale = leg_scale(_leg_length(s_heads, s_idx), _leg_length(t_heads, t_idx))
    s_root, t_root = s_idx[ROOT][0], t_idx[ROOT][0]
    root_pos = root_travel(s_world[:, s_root, :3, 3], s_heads[s_root], t_heads[t_root], scale, g,
                           options.in_place, UP)
    basis, pose = pose_from_world(tgt.rest, tgt.parents, tgt.matrix_world, world_rot, t_root, root_pos, tgt.basis)

    planted = {}
    if options.foot_lock:
        mw = np.asarray(tgt.matrix_world, float)
        forward = np.cross(t_heads[t_idx["left_hip"][0]] - t_heads[t_idx["right_hip"][0]], UP)
        for side in ("left", "right"):
            legs = [f"{side}_{j}" for j in ("hip", "knee", "ankle")]
            if not all(r in s_idx and r in t_idx for r in legs):
                continue
            hip, knee, ankle = (t_idx[r][0] for r in legs)
            mask = footlock.contacts(s_world[:, s_idx[legs[2]][0], :3, 3], options.fps,
                                     options.contact_speed, options.contact_height, UP)
            planted[side] = mask
            if not mask.any():
                continue
            head = (mw @ pose)[:, :, :3, 3]
            goal, weight = footlock.lock_goals(head[:, ankle], mask, options.blend)
            q_thigh, q_shin = footlock.two_bone_ik(head[:, hip], head[:, knee], head[:, ankle], goal, weight,
                                                   pole=np.broadcast_to(forward, head[:, hip].shape))
            world_rot[hip] = q_thigh @ world_rot[hip]
            world_rot[knee] = q_shin @ world_rot[knee]
            basis, pose = pose_from_world(tgt.rest, tgt.parents, tgt.matrix_world, world_rot, t_root, root_pos,
                                          tgt.basis)
    unmapped = tuple(r for r in ROLES if r not in t_idx)
    return Result(basis=basis, pose=pose, rotated=tuple(sorted(world_rot)), root=t_root, scale=scale,
                  unmapped=unmapped, planted=planted)
