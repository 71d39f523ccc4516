"""Analytic inverse kinematics: a starting pose from MediaPipe's 3D world landmarks (no network needed).

The global orientation comes from the hips/shoulders frame; then each limb joint (hips, knees, shoulders,
elbows) gets the smallest rotation that turns its rest bone direction into the observed one, in the frame
its parent has already been turned into. Spine, neck, head, hands and feet stay at rest; the fit refines them.
All arrays are in the CAMERA frame's orientation (MediaPipe's world landmarks are: x right, y down, z away
from the camera, origin between the hips).
"""

from __future__ import annotations

import numpy as np

from .body.skeleton import JOINT_INDEX as J
from .body.skeleton import SMPL_PARENTS
from .keypoint_map import MP
from .rotations import axis_angle_to_matrix, matrix_to_axis_angle, rotation_between

# (SMPL joint that rotates, its child, MediaPipe landmark at the joint, at the child), parents before children.
_LIMBS = (
    ("left_hip", "left_knee", "left_hip", "left_knee"),
    ("right_hip", "right_knee", "right_hip", "right_knee"),
    ("left_knee", "left_ankle", "left_knee", "left_ankle"),
    ("right_knee", "right_ankle", "right_knee", "right_ankle"),
    ("left_shoulder", "left_elbow", "left_shoulder", "left_elbow"),
    ("right_shoulder", "right_elbow", "right_shoulder", "right_elbow"),
    ("left_elbow", "left_wrist", "left_elbow", "left_wrist"),
    ("right_elbow", "right_wrist", "right_elbow", "right_wrist"),
)


def _unit(v):
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _torso_frame(l_hip, r_hip, l_sh, r_sh):
    """Orthonormal frames [...,3,3] with columns (body left, up, forward) from four points [...,3].

    `up` must be given in a y-up frame; callers flip MediaPipe's y-down data into the same convention by
    passing points as they are and letting the rest frame be computed the same way (only the relative
    rotation between two frames built alike is used)."""
    left = _unit((l_hip - r_hip) + (l_sh - r_sh))
    up = _unit(0.5 * (l_sh + r_sh) - 0.5 * (l_hip + r_hip))
    fwd = _unit(np.cross(left, up))
    up = np.cross(fwd, left)
    return np.stack([left, up, fwd], axis=-1)


def global_orientation(world, rest_joints):
    """world [B,33,≥3] MediaPipe world landmarks, rest_joints [24,3] → R0 [B,3,3] body → camera frame."""
    w = np.asarray(world, dtype=np.float64)[..., :3]
    rj = np.asarray(rest_joints, dtype=np.float64)
    obs = _torso_frame(w[:, MP["left_hip"]], w[:, MP["right_hip"]], w[:, MP["left_shoulder"]],
                       w[:, MP["right_shoulder"]])
    rest = _torso_frame(rj[J["left_hip"]], rj[J["right_hip"]], rj[J["left_shoulder"]], rj[J["right_shoulder"]])
    return obs @ rest.T


def pose_from_world_landmarks(world, rest_joints):
    """world [B,33,≥3] (camera-aligned MediaPipe world landmarks), rest_joints [24,3] → pose [B,24,3] axis-angle
    in the camera frame (joint 0 = global orientation)."""
    w = np.asarray(world, dtype=np.float64)[..., :3]
    rj = np.asarray(rest_joints, dtype=np.float64)
    b = w.shape[0]
    r0 = global_orientation(w, rj)
    local = np.tile(np.eye(3), (b, 24, 1, 1))
    local[:, 0] = r0
    glob = {0: r0}

    def global_of(j):  # global rotation of joint j from the locals set so far
        if j not in glob:
            glob[j] = global_of(SMPL_PARENTS[j]) @ local[:, j]
        return glob[j]

    for joint, child, mp_a, mp_b in _LIMBS:
        j, c = J[joint], J[child]
        parent_rot = global_of(SMPL_PARENTS[j])
        observed = w[:, MP[mp_b]] - w[:, MP[mp_a]]  # [B,3] camera frame
        in_parent = np.einsum("bji,bj->bi", parent_rot, observed)  # parent_rot^T · observed
        local[:, j] = axis_angle_to_matrix(rotation_between(np.tile(rj[c] - rj[j], (b, 1)),
                                                            in_parent))
        glob.pop(j, None)
    return matrix_to_axis_angle(local)


# Limb bones whose depth direction a single photo leaves open: (landmark at the joint, at the child, the child's
# landmarks that move with it). Flipping one turns the bone about the image plane through its joint.
_FLIPPABLE = (
    ("left_shoulder", "left_elbow", ("left_elbow", "left_wrist", "left_pinky", "left_index", "left_thumb")),
    ("left_elbow", "left_wrist", ("left_wrist", "left_pinky", "left_index", "left_thumb")),
    ("right_shoulder", "right_elbow", ("right_elbow", "right_wrist", "right_pinky", "right_index", "right_thumb")),
    ("right_elbow", "right_wrist", ("right_wrist", "right_pinky", "right_index", "right_thumb")),
    ("left_hip", "left_knee", ("left_knee", "left_ankle", "left_heel", "left_foot_index")),
    ("left_knee", "left_ankle", ("left_ankle", "left_heel", "left_foot_index")),
    ("right_hip", "right_knee", ("right_knee", "right_ankle", "right_heel", "right_foot_index")),
    ("right_knee", "right_ankle", ("right_ankle", "right_heel", "right_foot_index")),
)
FLIPPABLE_BONES = tuple((a, b) for a, b, _ in _FLIPPABLE)


def depth_flips(world):
    """world [B,33,C] (camera-aligned world landmarks, z = depth) → [B,1+F,33,C]: the landmarks as given, then one
    copy per bone of FLIPPABLE_BONES with that bone's depth reversed (z_child - z_joint negated; the landmarks
    below the child move with it, so the other bones keep their directions and every bone its length)."""
    w = np.asarray(world, dtype=np.float64)
    out = np.repeat(w[:, None], 1 + len(_FLIPPABLE), axis=1)
    for f, (a, b, moved) in enumerate(_FLIPPABLE, 1):
        dz = w[:, MP[b], 2] - w[:, MP[a], 2]
        out[:, f, [MP[m] for m in moved], 2] -= 2 * dz[:, None]
    return out


# The limb joints the occlusion check may move, parents before children, each with the bone it ends (its parent's
# landmark) and the landmarks that move with it.
_OCCLUDABLE = tuple((b, a, moved) for a, b, moved in _FLIPPABLE)


def inside_polygon(points, polygon):
    """points [N,2], polygon [K,2] convex, either winding → [N] bool (on the edge counts as inside)."""
    p = np.asarray(points, dtype=np.float64)
    q = np.asarray(polygon, dtype=np.float64)
    edge = np.roll(q, -1, axis=0) - q
    cross = edge[None, :, 0] * (p[:, None, 1] - q[None, :, 1]) - edge[None, :, 1] * (p[:, None, 0] - q[None, :, 0])
    return (cross >= 0).all(1) | (cross <= 0).all(1)


def faces_away(world) -> np.ndarray:
    """world [B,33,≥3] camera-aligned world landmarks → [B] bool: the torso's forward direction (from the hips and
    shoulders) points away from the camera, i.e. the landmarks show the person's back."""
    w = np.asarray(world, dtype=np.float64)[..., :3]
    frame = _torso_frame(*(w[:, MP[n]] for n in ("left_hip", "right_hip", "left_shoulder", "right_shoulder")))
    return frame[:, 2, 2] > 0  # the forward axis's depth (MediaPipe's y points down: see _torso_frame)


def left_right_swapped(keypoints2d, world):
    """The other reading of a person seen from behind: MediaPipe's landmarks [B,33,C] and world landmarks
    [B,33,≥3] with left and right exchanged and the world landmarks mirrored in depth through the hips (their
    origin). The 2D points stay where they are; the body turns to face the other way, each limb keeping its
    place in the picture and its depth relative to the torso in front or behind as the body now faces. Where
    a back view shows no face, MediaPipe's left/right is a guess (bench/RESULTS.md)."""
    from .keypoint_map import LEFT_RIGHT_SWAP

    order = list(LEFT_RIGHT_SWAP)
    w = np.array(np.asarray(world, dtype=np.float64)[:, order])
    w[..., 2] *= -1
    return np.asarray(keypoints2d, dtype=np.float64)[:, order], w


def occlusion_flips(world, keypoints2d, max_visibility=0.5, grow=0.15, margin=0.0):
    """World landmarks [B,33,C] made consistent with what hides what, for a person turned away from the camera
    → a corrected copy, and [B,8] which bones (FLIPPABLE_BONES order) were reversed.

    A person's back is to the camera when the torso's forward direction (from the four torso landmarks) points
    away from it. Then a limb joint that MediaPipe marks as hidden (visibility < max_visibility in keypoints2d
    [B,33,3]) while its 2D keypoint lies on the torso (the shoulders-hips quad, grown by `grow` of its size on
    every side for the flesh around the joints) is hidden by the torso: it is in front of the person, farther from
    the camera than the torso. MediaPipe's depth for such limbs often has the other sign (arms reaching forward
    put behind the back). Where the joint lies more than `margin` (m) nearer the camera than the torso there (the
    plane through the four torso landmarks) and its bone points towards the camera, the bone's depth is reversed
    as in depth_flips (lengths and the other bones' directions kept); parents are settled before children.
    Facing the camera, a hidden hand over the torso may as well be in front of it (behind the other arm, or
    simply missed): nothing is changed then."""
    w = np.array(world, dtype=np.float64)
    kp = np.asarray(keypoints2d, dtype=np.float64)
    flipped = np.zeros((w.shape[0], len(_OCCLUDABLE)), dtype=bool)
    quad = [MP[n] for n in ("left_shoulder", "right_shoulder", "right_hip", "left_hip")]
    for i in range(w.shape[0]):
        q2 = kp[i, quad, :2]
        centre = q2.mean(0)
        poly = centre + (q2 - centre) * (1.0 + 2.0 * grow)
        t3 = w[i, quad, :3]
        if not faces_away(w[i : i + 1])[0]:
            continue
        plane = np.linalg.lstsq(np.c_[t3[:, :2], np.ones(4)], t3[:, 2], rcond=None)[0]  # z = a x + b y + c
        for f, (j, parent, moved) in enumerate(_OCCLUDABLE):
            if kp[i, MP[j], 2] >= max_visibility or not inside_polygon(kp[i, MP[j], None, :2], poly)[0]:
                continue
            x, y, z = w[i, MP[j], :3]
            dz = z - w[i, MP[parent], 2]
            if z < plane @ [x, y, 1.0] - margin and dz < 0:
                w[i, [MP[m] for m in moved], 2] -= 2 * dz
                flipped[i, f] = True
    return w, flipped
