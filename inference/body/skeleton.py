"""SMPL's skeleton: the 24 joint names, their order and their parents. The one place these are written."""

SMPL_JOINT_NAMES = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
    "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand",
    "right_hand",
)
# Parent of each joint in the kinematic tree; -1 for the root (SMPL's kintree_table[0] with 2**32-1 → -1).
SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
NUM_JOINTS = 24
NUM_POSE_CORRECTIVES = 9 * (NUM_JOINTS - 1)  # 207: (R_j - I).ravel() for joints 1..23
JOINT_INDEX = {name: i for i, name in enumerate(SMPL_JOINT_NAMES)}
