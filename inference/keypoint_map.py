"""MediaPipe Pose's 33 landmarks ↔ SMPL joints and COCO's 17 keypoints: the one correspondence table.

A target is a SMPL joint (by name, from inference.body.skeleton) or a named extra joint of the body model
(vertex-picked: nose, eyes, ears, heels, toes); it is matched to the mean of one or more MediaPipe landmarks
with a weight saying how well the two agree anatomically (MediaPipe's hips sit higher and wider than SMPL's
hip joints, its "foot index" is the toe tip while SMPL's foot joint is the ball of the foot, ...).
"""

from __future__ import annotations

import numpy as np

MEDIAPIPE_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
MP = {n: i for i, n in enumerate(MEDIAPIPE_NAMES)}
# landmarks[LEFT_RIGHT_SWAP] is the same landmarks with the person's left and right exchanged (a mirror's labels)
LEFT_RIGHT_SWAP = tuple(MP["_".join({"left": "right", "right": "left"}.get(p, p) for p in n.split("_"))]
                        for n in MEDIAPIPE_NAMES)

# (target joint name(s) tried in order, MediaPipe landmarks averaged, weight). The first name the body model
# has is used; entries whose targets the model lacks are dropped. "left" is the person's left everywhere.
_TABLE = (
    (("left_shoulder",), ("left_shoulder",), 1.0),
    (("right_shoulder",), ("right_shoulder",), 1.0),
    (("left_elbow",), ("left_elbow",), 1.0),
    (("right_elbow",), ("right_elbow",), 1.0),
    (("left_wrist",), ("left_wrist",), 1.0),
    (("right_wrist",), ("right_wrist",), 1.0),
    (("left_hip",), ("left_hip",), 0.7),
    (("right_hip",), ("right_hip",), 0.7),
    (("left_knee",), ("left_knee",), 1.0),
    (("right_knee",), ("right_knee",), 1.0),
    (("left_ankle",), ("left_ankle",), 1.0),
    (("right_ankle",), ("right_ankle",), 1.0),
    (("left_hand",), ("left_index", "left_pinky"), 0.3),
    (("right_hand",), ("right_index", "right_pinky"), 0.3),
    (("nose", "head"), ("nose",), 0.5),
    (("left_eye",), ("left_eye",), 0.5),
    (("right_eye",), ("right_eye",), 0.5),
    (("left_ear",), ("left_ear",), 0.5),
    (("right_ear",), ("right_ear",), 0.5),
    (("left_heel",), ("left_heel",), 0.5),
    (("right_heel",), ("right_heel",), 0.5),
    (("left_toe", "left_big_toe", "left_foot"), ("left_foot_index",), 0.4),
    (("right_toe", "right_big_toe", "right_foot"), ("right_foot_index",), 0.4),
)

# Bones whose 3D direction (from MediaPipe's world landmarks) constrains the fit: pairs of table targets.
BONES = (
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("right_shoulder", "left_shoulder"), ("right_hip", "left_hip"),
    ("left_hip", "left_shoulder"), ("right_hip", "right_shoulder"),
)
LIMB_BONES = BONES[:8]  # upper arms, forearms, thighs, shins

COCO_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee",
    "left_ankle", "right_ankle",
)
# COCO keypoint k is MediaPipe landmark COCO_TO_MEDIAPIPE[k] (same anatomical point, same side).
COCO_TO_MEDIAPIPE = tuple(MP[n] for n in COCO_NAMES)


class KeypointMap:
    """The table resolved for one body model.

    joint_index [M]: index into the model's joints (24 SMPL joints then extras, as BodyOutput.joints);
    weights [M]; mp_matrix [M,33]: averages MediaPipe landmarks into the M targets (rows sum to 1);
    names [M]: target names; bones [Bn,2]: index pairs into the M targets.
    """

    def __init__(self, joint_names):
        joint_names = tuple(joint_names)
        idx, w, rows, names = [], [], [], []
        for targets, sources, weight in _TABLE:
            hit = next((t for t in targets if t in joint_names), None)
            if hit is None or hit in names:
                continue
            row = np.zeros(len(MEDIAPIPE_NAMES))
            row[[MP[s] for s in sources]] = 1.0 / len(sources)
            idx.append(joint_names.index(hit))
            w.append(weight)
            rows.append(row)
            names.append(hit)
        self.joint_index = np.asarray(idx, dtype=np.int64)
        self.weights = np.asarray(w, dtype=np.float64)
        self.mp_matrix = np.stack(rows)
        self.names = tuple(names)
        pos = {n: i for i, n in enumerate(names)}
        self.bones = np.asarray([(pos[a], pos[b]) for a, b in BONES if a in pos and b in pos], dtype=np.int64)

    def __len__(self):
        return len(self.names)

    def targets_from_mediapipe(self, landmarks):
        """landmarks [..., 33, C] (x, y[, z], visibility last) → [..., M, C]; visibility is the minimum of the
        averaged landmarks' visibilities, coordinates their mean."""
        lm = np.asarray(landmarks, dtype=np.float64)
        out = np.einsum("mk,...kc->...mc", self.mp_matrix, lm)
        out[..., -1] = np.where(self.mp_matrix > 0, lm[..., None, :, -1], np.inf).min(-1)
        return out

    def coco_joint_index(self):
        """For each COCO keypoint, the model joint index matched to it (or -1 when the model lacks it)."""
        by_mp = {}
        for name, j, row in zip(self.names, self.joint_index, self.mp_matrix):
            src = np.flatnonzero(row)
            if len(src) == 1:
                by_mp[int(src[0])] = int(j)
        return np.asarray([by_mp.get(k, -1) for k in COCO_TO_MEDIAPIPE], dtype=np.int64)
