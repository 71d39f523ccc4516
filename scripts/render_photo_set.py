"""Render the open body as photos in hard poses, with their 3D truth: the evaluation set of the photo fit in 3D.

    .venv/bin/python scripts/render_photo_set.py --out /work/evalset/photo3d [--per-family 7] [--seed 15]
        [--families standing,sitting,crouching,reaching,turned_away,cropped] [--long-side 512] [--samples 8]
        [--background photo|procedural|both] [--photos ../shared/data/photos] [--quality 90] [--max-kb 0]
        [--no-faces]

Families: standing (walking, a control), sitting (on a stool), crouching, reaching (an arm across the body,
the torso twisted), turned_away (back or three-quarter back to the camera), cropped (a pose of the other
families with the legs or one side out of the frame). Every image has its own random shape (10 betas), pose
(joint angles inside human limits, random within each family from --seed), clothes (shirt, trousers or
shorts, shoes, hair: materials by the body part that skins each face), sun and sky, camera height, distance,
pitch and focal length (28-85 mm full-frame equivalent), portrait or landscape. The people have faces (eyes,
lashes, brows, lips, nostrils: scripts/synthetic_face.py) whose colours come from a random stream of their own:
a blank head reads as the back of one to MediaPipe. `--no-faces` renders the sets made before faces existed
(same --seed: the same images, bit for bit); with faces, the same --seed changes only the faces.

Each body is rendered once (Cycles, CPU, transparent film, the floor a shadow catcher) and laid over a
background: `photo` = a random crop of the shared photos with their annotated people painted out (for local
evaluation only: NEVER commit these), `procedural` = a generated wall and floor (may be committed). With
`both`, OUT/photo/ and OUT/procedural/ each get every image. Per image: NAME.jpg and NAME.npz with
joints [24,3] (SMPL joints, CAMERA frame of inference.camera: OpenCV, metres), pose [24,3] / transl [3]
(camera frame, as a BodyFit), betas [10], fx fy cx cy width height, family, background, in_image [24] (the
joint projects inside the picture), seed. The truth is checked against the posed Blender armature.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import repo_package  # noqa: E402  (the repository as the package `bodyrig`)

repo_package.install()
import synthetic_face  # noqa: E402  (scripts/: eyes, brows, lips on the rendered people)
import synthetic_scene  # noqa: E402  (scripts/: the scene pieces shared with render_gt_video.py)

FAMILIES = ("standing", "sitting", "crouching", "reaching", "turned_away", "cropped")
FULL_FRAME_DIAGONAL_MM = 43.27  # a 35 mm-equivalent focal length is relative to this diagonal
TRUTH_TOLERANCE_M = 0.002  # the armature's joints and the truth must agree this well
SHIRT = (3, 6, 9, 13, 14, 16, 17)  # SMPL joints whose skinned faces the shirt covers (+ 18, 19: long sleeves)
TROUSERS = (0, 1, 2)  # + 4, 5 for long trousers
SHOES = (7, 8, 10, 11)
HAIR = 4  # face_parts' last material: the face's materials follow it


# ------------------------------------------------------------------------------------------------ poses


def _rot(axis, angle):
    from scipy.spatial.transform import Rotation

    return Rotation.from_rotvec(np.asarray(axis, float) / np.linalg.norm(axis) * angle)


def _mirror(rotvec):
    """The same joint rotation on the other side of the body (mirror in the body's YZ plane)."""
    return np.asarray(rotvec) * [1.0, -1.0, -1.0]


def arm_rotations(elevation, azimuth, twist, flex):
    """The LEFT arm: the upper arm pointing at `elevation` from straight down (rad; pi/2 = horizontal) and
    `azimuth` from straight out to the side toward the front (pi/2 = forward, > pi/2 = across the body), turned
    by `twist` about itself, the elbow bent by `flex` >= 0 → (shoulder, elbow) axis-angles in the torso frame."""
    from scipy.spatial.transform import Rotation

    d = np.array([math.sin(elevation) * math.cos(azimuth), -math.cos(elevation),
                  math.sin(elevation) * math.sin(azimuth)])
    rest = np.array([1.0, 0.0, 0.0])  # the open body's left arm at rest (T pose)
    axis = np.cross(rest, d)
    swing = _rot(axis, math.acos(np.clip(rest @ d, -1, 1))) if np.linalg.norm(axis) > 1e-9 else Rotation.identity()
    shoulder = (_rot(d, twist) * swing).as_rotvec()
    return shoulder, np.array([0.0, -flex, 0.0])  # the left elbow bends about -Y (forward with the arm down)


def leg_rotations(flex, abduct, turn, knee):
    """The LEFT leg: hip flexion (thigh forward, rad), abduction (outward), rotation about the thigh, knee
    flexion >= 0 → (hip, knee) axis-angles."""
    hip = (_rot([1, 0, 0], -flex) * _rot([0, 0, 1], abduct) * _rot([0, 1, 0], turn)).as_rotvec()
    return hip, np.array([knee, 0.0, 0.0])


def sample_pose(family, rng):
    """A plausible pose of `family` → (pose [24,3] axis-angle, the root's yaw toward the camera included;
    info dict). Angles stay inside ordinary human ranges."""
    from inference.body.skeleton import JOINT_INDEX as J

    u = rng.uniform
    pose = np.zeros((24, 3))
    info = {}
    lean, yaw = 0.0, u(-0.9, 0.9)
    legs = [(u(-0.5, 0.35), u(0.0, 0.2), u(-0.2, 0.3), u(0.0, 0.45)) for _ in range(2)]  # walking / standing
    arms = [(u(0.1, 1.0), u(-0.4, 1.6), u(-0.6, 0.6), u(0.05, 1.4)) for _ in range(2)]
    spine = np.array([u(-0.05, 0.15), u(-0.25, 0.25), u(-0.1, 0.1)])
    if family == "sitting":
        yaw = u(-1.2, 1.2)
        legs = [(u(1.3, 1.7), u(0.0, 0.35), u(-0.2, 0.3), u(1.2, 1.8)) for _ in range(2)]
        arms = [(u(0.2, 1.1), u(0.5, 1.8), u(-0.5, 0.5), u(0.4, 1.9)) for _ in range(2)]
        spine[0] = u(0.0, 0.35)
    elif family == "crouching":
        yaw, lean = u(-1.4, 1.4), u(0.25, 0.6)
        legs = [(u(1.8, 2.15), u(0.1, 0.45), u(-0.2, 0.4), u(1.9, 2.4)) for _ in range(2)]
        arms = [(u(0.5, 1.5), u(0.9, 1.7), u(-0.5, 0.5), u(0.2, 1.6)) for _ in range(2)]
        spine[0] = u(0.0, 0.3)
        pose[J["neck"], 0] = -u(0.1, 0.4)  # looking ahead, not at the floor
    elif family == "reaching":
        yaw = u(-0.9, 0.9)
        side = int(rng.integers(2))  # 0: the left arm reaches over to the right side, 1: the right to the left
        arms[side] = (u(1.1, 1.8), u(2.0, 2.6), u(-0.6, 0.6), u(0.0, 0.7))
        if u() < 0.5:  # the other arm too: folded or pointing at the camera (forearm along the line of sight)
            arms[1 - side] = (u(0.1, 0.6), u(1.2, 1.7), u(-0.3, 0.3), u(1.3, 1.8))
        spine[1] = (1 if side else -1) * u(0.15, 0.4)
        info["reaching_arm"] = ("left", "right")[side]
    elif family == "turned_away":
        yaw = math.pi + u(-0.9, 0.9)
        arms = [(u(0.1, 1.7), u(-0.4, 2.2), u(-0.6, 0.6), u(0.0, 2.0)) for _ in range(2)]
    if family in ("standing", "turned_away") and u() < 0.4:  # a forearm pointing toward or away from the camera
        k = int(rng.integers(2))
        arms[k] = (u(0.0, 0.4), u(1.3, 1.8), u(-0.2, 0.2), u(1.3, 1.7))
    for k, side in enumerate(("left", "right")):
        sh, el = arm_rotations(*arms[k])
        hip, kn = leg_rotations(*legs[k])
        if side == "right":
            sh, el, hip, kn = _mirror(sh), _mirror(el), _mirror(hip), kn
        pose[J[f"{side}_shoulder"]], pose[J[f"{side}_elbow"]] = sh, el
        pose[J[f"{side}_hip"]], pose[J[f"{side}_knee"]] = hip, kn
        # the foot kept near flat: undo the sagittal angles above it (inside the ankle's range)
        pose[J[f"{side}_ankle"], 0] = np.clip(-(lean - legs[k][0] + legs[k][3]), -0.8, 0.5)
        pose[J[f"{side}_collar"]] = _mirror([0, 0, u(-0.1, 0.15)]) if side == "right" else [0, 0, u(-0.1, 0.15)]
        pose[J[f"{side}_wrist"]] = u(-0.3, 0.3, 3)
    for j in ("spine1", "spine2", "spine3"):
        pose[J[j]] = spine / 3
    pose[J["head"]] = [u(-0.2, 0.3), u(-0.6, 0.6), u(-0.2, 0.2)]
    pose[0] = (_rot([0, 1, 0], yaw) * _rot([1, 0, 0], lean)).as_rotvec()
    info["yaw_deg"] = math.degrees(yaw)
    return pose, info


# ------------------------------------------------------------------------------------------------ camera


def look_rotation(eye, target):
    """Rows x, y, z of the OpenCV camera at `eye` looking at `target` (stage frame, Y up): p_cam = R (p - eye)."""
    z = (target - eye) / np.linalg.norm(target - eye)
    x = np.cross(z, [0.0, 1.0, 0.0])
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(z, x), z])


def place_camera(verts, rng, size, focal, crop=None):
    """Camera (eye [3], R [3,3]) in the stage frame so that the body `verts` fill the image of `size` (W, H)
    at `focal` px: framed whole at random, or with the legs (crop="bottom") or one side ("side") cut off."""
    w, h = size
    lo, hi = verts.min(0), verts.max(0)
    target = (lo + hi) / 2
    pitch = math.radians(rng.uniform(-8, 28))  # > 0: the camera looks down
    fill = rng.uniform(0.6, 0.85) if crop != "bottom" else rng.uniform(1.3, 1.7)
    dist = focal * (hi[1] - lo[1]) / (fill * h) + 0.5
    eye = target
    for _ in range(4):  # distance for the fill, then shift for the framing; perspective needs a few rounds
        eye = target + dist * np.array([0.0, math.sin(pitch), math.cos(pitch)])
        eye[1] = max(eye[1], 0.25)
        r = look_rotation(eye, target)
        uv = project(verts, eye, r, focal, size)
        span = max((uv[:, 1].max() - uv[:, 1].min()) / h, (uv[:, 0].max() - uv[:, 0].min()) / w)
        dist *= span / fill
    r = look_rotation(eye, target)
    want = np.array([w / 2 + rng.uniform(-0.15, 0.15) * w * (1 - min(fill, 1)),
                     h / 2 + rng.uniform(-0.15, 0.15) * h * (1 - min(fill, 1))])
    for _ in range(3):
        uv = project(verts, eye, r, focal, size)
        (u0, v0), (u1, v1) = uv.min(0), uv.max(0)
        if crop == "bottom":  # the head near the top, the legs below the frame
            want[1] = h * rng.uniform(0.03, 0.1) + (v1 - v0) / 2 if _ == 0 else want[1]
        elif crop == "side" and _ == 0:  # a quarter to two fifths of the body out at the left or right
            out = rng.uniform(0.25, 0.4) * (u1 - u0)
            want[0] = (-out + (u1 - u0) / 2) if rng.uniform() < 0.5 else (w + out - (u1 - u0) / 2)
        centre = (uv.min(0) + uv.max(0)) / 2
        depth = (r @ (target - eye))[2]
        eye = eye + r.T @ np.array([*(centre - want) * depth / focal, 0.0])
    return eye, r


def project(points, eye, r, focal, size):
    p = (points - eye) @ r.T
    return p[:, :2] / p[:, 2:3] * focal + np.array(size) / 2


# ------------------------------------------------------------------------------------------------ backgrounds


def photo_backgrounds(folder):
    """The shared COCO photos (RGB) with the boxes of their annotated people: crops avoid them, so that the
    detector finds only the rendered body."""
    import cv2

    folder = Path(folder)
    ann = json.loads((folder / "coco_annotations.json").read_text())
    out = []
    for im in ann["images"]:
        bgr = cv2.imread(str(folder / im["file_name"]))
        if bgr is not None:
            boxes = [a["bbox"] for a in ann["annotations"] if a["image_id"] == im["id"]]
            out.append((bgr[..., ::-1], np.array(boxes, float).reshape(-1, 4)))
    return out


def photo_background(photos, rng, size):
    """A random crop of one photo, resized to `size` (W, H), overlapping its people by at most 2% of its area
    (the least overlapping of 300 tries), sometimes mirrored."""
    import cv2

    w, h = size
    best = None
    for _ in range(300):
        src, boxes = photos[int(rng.integers(len(photos)))]
        sh, sw = src.shape[:2]
        scale = rng.uniform(0.2, 0.9) * min(sw / w, sh / h)
        cw, ch = int(w * scale), int(h * scale)
        x, y = int(rng.integers(0, sw - cw + 1)), int(rng.integers(0, sh - ch + 1))
        ix = np.clip(np.minimum(x + cw, boxes[:, 0] + boxes[:, 2]) - np.maximum(x, boxes[:, 0]), 0, None)
        iy = np.clip(np.minimum(y + ch, boxes[:, 1] + boxes[:, 3]) - np.maximum(y, boxes[:, 1]), 0, None)
        overlap = float((ix * iy).sum()) / (cw * ch)
        if best is None or overlap < best[0]:
            best = (overlap, src[y:y + ch, x:x + cw])
        if overlap <= 0.02:
            break
    crop = best[1][:, ::-1] if rng.uniform() < 0.5 else best[1]
    return cv2.resize(np.ascontiguousarray(crop), (w, h), interpolation=cv2.INTER_LINEAR)


def procedural_background(rng, size, horizon):
    """A wall (plain, striped or tiled) over a plain floor meeting at row `horizon`, with soft noise."""
    import cv2

    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    wall_c, floor_c = rng.uniform(0.25, 0.9, 3), rng.uniform(0.15, 0.7, 3)
    img = np.empty((h, w, 3), np.float32)
    kind = rng.integers(3)
    wall = np.ones((h, w), np.float32)
    if kind == 1:
        wall = 0.85 + 0.15 * (np.sin(xx / rng.uniform(6, 30)) > 0)
    elif kind == 2:
        s = rng.uniform(20, 60)
        wall = 0.8 + 0.2 * (((xx // s) + (yy // (s / 2))) % 2)
    img[:] = wall[..., None] * wall_c
    horizon = int(np.clip(horizon, 0, h))
    if horizon < h:  # the floor darker toward the horizon
        depth = (yy[horizon:] - horizon + 1) / max(h - horizon, 1)
        img[horizon:] = (0.6 + 0.4 * depth)[..., None] * floor_c
    img *= (1.0 + 0.25 * (xx / w - 0.5) * rng.uniform(-1, 1))[..., None]  # light falling off across the room
    noise = cv2.GaussianBlur(rng.normal(0, 0.04, (h, w)).astype(np.float32), (0, 0), 1.5)
    img += noise[..., None]
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def composite(rgba, background):
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    return (rgba[..., :3] * a + background * (1 - a)).clip(0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------------------ the scene


def face_parts(data, rng):
    """Material index per face: 0 skin, 1 shirt, 2 trousers, 3 shoes, 4 hair, by the joint that skins the face
    most (long or short sleeves and trousers at random); hair: the top and back of the head."""
    from inference.body.skeleton import JOINT_INDEX as J

    shaped, joints = data.shaped(None)
    owner = data.weights[data.f].sum(1).argmax(1)  # [F]
    shirt = SHIRT + ((18, 19) if rng.uniform() < 0.6 else ())
    trousers = TROUSERS + ((4, 5) if rng.uniform() < 0.75 else ())
    part = np.zeros(len(data.f), np.int64)
    part[np.isin(owner, shirt)] = 1
    part[np.isin(owner, trousers)] = 2
    part[np.isin(owner, SHOES)] = 3
    centre = shaped[data.f].mean(1)
    head = joints[J["head"]]
    hair = (owner == J["head"]) & ((centre[:, 1] > head[1] + rng.uniform(0.05, 0.08)) |
                                   ((centre[:, 2] < head[2] - 0.02) & (centre[:, 1] > head[1] - 0.04)))
    part[hair] = HAIR
    return part


def dress(char, data, rng, face_rng=None):
    """The clothes, hair and skin from `rng`; with `face_rng`, a face (eyes, brows, lips, nostrils) whose colours
    come from that stream only, so that `rng` draws exactly what it drew before faces existed."""
    # the draws' order is the sets' reproducibility: keep it
    skin = np.array([0.85, 0.62, 0.5]) * rng.uniform(0.35, 1.05)
    mats = [synthetic_scene.principled("Skin", np.clip(skin, 0, 1), 0.5)[0],
            synthetic_scene.cloth_material("Shirt", rng.uniform(0.05, 0.95, 3), rng,
                                           ("plain", "stripes", "checks")[int(rng.integers(3))]),
            synthetic_scene.cloth_material("Trousers", rng.uniform(0.03, 0.6, 3), rng),
            synthetic_scene.principled("Shoes", rng.uniform(0.02, 0.4, 3), 0.4)[0]]
    hair = rng.uniform(0.02, 0.35) * np.array([1.0, 0.8, 0.6])
    mats.append(synthetic_scene.principled("Hair", hair, 0.7)[0])
    part = face_parts(data, rng)
    if face_rng is not None:
        mats += synthetic_face.face_materials(synthetic_face.face_colours(np.clip(skin, 0, 1), hair, face_rng))
        part = with_face(part, face_features_of(data))
    mesh = char.mesh.data
    for m in mats:
        mesh.materials.append(m)
    mesh.polygons.foreach_set("material_index", part.astype(np.int32))
    mesh.update()


def face_features_of(data):
    """synthetic_face.face_features of the open body at rest (the mean shape, as face_parts)."""
    from inference.body.skeleton import JOINT_INDEX as J

    shaped, joints = data.shaped(None)
    return synthetic_face.face_features(shaped, joints, data.f, J["head"])


def with_face(part, features):
    """Material index per face: the face's features (materials after the five of face_parts) over the skin;
    the eyes over anything (hair may reach the hidden top of an eyeball), brows under a low hairline stay hair."""
    out = part.copy()
    eye = np.isin(features, (synthetic_face.EYE_WHITE, synthetic_face.IRIS))
    paint = (features != synthetic_face.NONE) & ((part == 0) | eye)
    out[paint] = HAIR + features[paint]
    return out


def posed_vertices(data, pose, betas, transl):
    """LBS without pose correctives (enough to frame the picture): [V,3] in the body's frame."""
    from inference.body.kinematics import skinning_transforms

    shaped, joints = data.shaped(betas)
    a = skinning_transforms(pose, joints, transl)  # [24,4,4]
    t = np.einsum("vj,jab->vab", data.weights, a)
    return np.einsum("vab,vb->va", t[:, :3, :3], shaped) + t[:, :3, 3]


def stage_matrix(eye, r):
    """4x4: stage frame (Y up, floor y = 0) → Blender (results' world frame turned Z-up by the rig's turn)."""
    from inference.conventions import BODY_TO_BLENDER, CAMERA_TO_WORLD

    m = BODY_TO_BLENDER @ CAMERA_TO_WORLD @ r
    out = np.eye(4)
    out[:3, :3], out[:3, 3] = m, -m @ eye
    return out


def add_lights(parent, collection, rng):
    """A sun from a random direction above and a sky-coloured world."""
    import bpy
    import mathutils

    sun = bpy.data.lights.new("Sun", type="SUN")
    sun.energy = float(rng.uniform(2.0, 5.0))
    sun.angle = math.radians(rng.uniform(1, 15))
    sun.color = tuple(float(c) for c in (1.0, rng.uniform(0.85, 1.0), rng.uniform(0.7, 0.95)))
    obj = bpy.data.objects.new("Sun", sun)
    elev, azim = rng.uniform(0.5, 1.3), rng.uniform(-math.pi, math.pi)
    to_light = np.array([math.cos(elev) * math.sin(azim), math.sin(elev), math.cos(elev) * math.cos(azim)])
    z = to_light
    x = np.cross([0.0, 1.0, 0.0], z)
    x /= np.linalg.norm(x)
    rot = np.stack([x, np.cross(z, x), z], 1)  # the sun shines along its -Z
    m = np.eye(4)
    m[:3, :3] = rot
    collection.objects.link(obj)
    obj.parent = parent
    obj.matrix_parent_inverse = mathutils.Matrix.Identity(4)
    obj.matrix_basis = mathutils.Matrix(m.tolist())
    world = bpy.data.worlds.new("Sky")
    bpy.context.scene.world = world
    world.use_nodes = True
    sky = np.array([rng.uniform(0.5, 0.8), rng.uniform(0.6, 0.85), rng.uniform(0.75, 1.0)])
    world.node_tree.nodes["Background"].inputs[0].default_value = (*sky, 1.0)
    world.node_tree.nodes["Background"].inputs[1].default_value = float(rng.uniform(0.4, 1.0))


def render_one(name, family, seed, data, args, photos, out_dirs):
    import bpy
    import cv2
    import mathutils

    from bodyrig.operators.photo_scene import add_photo_camera
    from bodyrig.operators.pose import set_pose
    from bodyrig.operators.render import setup_cycles
    from bodyrig.operators.rig import build_character
    from inference.body.kinematics import motion_joints
    from inference.body.load import body_model
    from inference.camera import PinholeCamera
    from inference.body.skeleton import SMPL_JOINT_NAMES
    from inference.conventions import BODY_TO_BLENDER, CAMERA_TO_WORLD
    from inference.results import reframe
    rng = np.random.default_rng([args.seed, FAMILIES.index(family), seed])
    crop, base = None, family
    if family == "cropped":
        base = ("standing", "sitting", "crouching", "reaching", "turned_away")[int(rng.integers(5))]
        crop = "bottom" if rng.uniform() < 0.5 else "side"
    pose, info = sample_pose(base, rng)
    betas = np.clip(rng.normal(0, 1.0, 10), -2.5, 2.5)
    portrait = rng.uniform() < (0.35 if base in ("sitting", "crouching") else 0.75)
    w, h = (args.long_side * 3 // 4, args.long_side) if portrait else (args.long_side, args.long_side * 3 // 4)
    lens_mm = math.exp(rng.uniform(math.log(28), math.log(85)))
    focal = lens_mm / FULL_FRAME_DIAGONAL_MM * math.hypot(w, h)

    # the stage: Y up, the lowest point of the body on the floor y = 0
    verts = posed_vertices(data, pose, betas, np.zeros(3))
    transl = np.array([0.0, -verts[:, 1].min(), 0.0])
    verts = verts + transl
    eye, r = place_camera(verts, rng, (w, h), focal, crop)
    rest_pelvis = data.shaped(betas)[1][0]
    pose_cam, transl_cam = reframe(pose, transl, rest_pelvis, rotation=r)
    transl_cam = transl_cam - r @ eye
    joints = motion_joints(body_model(data, "cpu"), pose_cam[None], betas, transl_cam[None])[0]
    camera = PinholeCamera(fx=focal, fy=focal, cx=w / 2, cy=h / 2, width=w, height=h)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    char = build_character(data, betas=betas, name="Person")
    pose_w, transl_w = reframe(pose_cam, transl_cam, rest_pelvis, rotation=CAMERA_TO_WORLD)
    set_pose(char, pose_w, transl_w)
    # the face's colours from a stream of their own: a --seed renders the same scene with or without faces
    dress(char, data, rng, np.random.default_rng([args.seed, FAMILIES.index(family), seed, 7]) if args.faces else None)
    add_photo_camera(char.collection, camera)
    stage = bpy.data.objects.new("Stage", None)
    char.collection.objects.link(stage)
    stage.matrix_world = mathutils.Matrix(stage_matrix(eye, r).tolist())
    floor = synthetic_scene.plane(char.collection, "Floor", [(-30, 0, -30), (30, 0, -30), (30, 0, 30), (-30, 0, 30)])
    floor.is_shadow_catcher = True
    props = [floor]
    if base == "sitting":  # a stool under the thighs
        thigh = np.isin(data.weights.argmax(1), (0, 1, 2))
        seat = float(verts[thigh, 1].min()) - 0.01
        pelvis = verts[thigh].mean(0)
        s = rng.uniform(0.16, 0.22)
        mat = synthetic_scene.principled("Stool", rng.uniform(0.1, 0.6, 3), 0.5)[0]
        props.append(synthetic_scene.box(char.collection, "Stool", (pelvis[0] - s, 0.0, pelvis[2] - s),
                                         (pelvis[0] + s, seat, pelvis[2] + s), mat))
        info["seat_m"] = seat
    for p in props:
        p.parent = stage
        p.matrix_parent_inverse = mathutils.Matrix.Identity(4)
    add_lights(stage, char.collection, rng)
    setup_cycles(scene, samples=args.samples, transparent=True)
    scene.cycles.use_denoising = True
    scene.view_layers[0].update()

    # the truth against the armature Blender will render
    bl = np.array([list(char.armature.matrix_world @ char.armature.pose.bones[n].head) for n in SMPL_JOINT_NAMES])
    seen = (bl @ BODY_TO_BLENDER) @ CAMERA_TO_WORLD  # Blender → world → camera (both rotations orthonormal)
    err = float(np.abs(seen - joints).max())
    if err > TRUTH_TOLERANCE_M:
        raise RuntimeError(f"{name}: the armature's joints are {err * 1000:.1f} mm off the truth")

    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "r.png"
        scene.render.filepath = str(png)
        bpy.ops.render.render(write_still=True)
        rgba = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
    rgba = np.concatenate([rgba[..., 2::-1], rgba[..., 3:]], -1)
    uv = camera.project(joints)
    in_image = (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h) & (joints[:, 2] > 0)
    far = -r[:, 2]  # the stage's -Z (away from the camera) in the camera frame: the floor's far edge
    horizon = h / 2 + focal * far[1] / max(far[2], 1e-6)
    truth = dict(joints=joints, pose=pose_cam, transl=transl_cam, betas=betas, rest_pelvis=rest_pelvis,
                 fx=focal, fy=focal, cx=w / 2, cy=h / 2, width=w, height=h, family=family, base_family=base,
                 crop=str(crop), in_image=in_image, seed=seed, lens_mm=lens_mm, body="open",
                 camera_height_m=eye[1], info=json.dumps(info))
    for kind, folder in out_dirs.items():
        # a stream of its own per background: the procedural images are the same with --background both
        brng = np.random.default_rng([args.seed, FAMILIES.index(family), seed, ("photo", "procedural").index(kind)])
        bg = photo_background(photos, brng, (w, h)) if kind == "photo" else procedural_background(brng, (w, h), horizon)
        rgb = composite(rgba, bg)
        write_jpeg(folder / f"{name}.jpg", rgb, args.quality, args.max_kb)
        np.savez(folder / f"{name}.npz", background=kind, **truth)
    return truth


def write_jpeg(path, rgb, quality, max_kb):
    """JPEG at `quality`, lowered in steps of 5 until the file is at most `max_kb` KB (0: no limit)."""
    import cv2

    q = quality
    while True:
        ok, buf = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
        if not ok:
            raise RuntimeError(f"could not encode {path}")
        if not max_kb or len(buf) <= max_kb * 1024 or q <= 30:
            break
        q -= 5
    path.write_bytes(buf.tobytes())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/work/evalset/photo3d")
    ap.add_argument("--per-family", type=int, default=7)
    ap.add_argument("--first", type=int, default=0, help="index of the first image of each family")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--long-side", type=int, default=512)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--background", choices=("photo", "procedural", "both"), default="both")
    ap.add_argument("--photos", default=str(REPO.parent / "shared" / "data" / "photos"))
    ap.add_argument("--quality", type=int, default=90)
    ap.add_argument("--faces", action=argparse.BooleanOptionalAction, default=True,
                    help="eyes, brows, lips and nostrils (--no-faces: blank heads, as the sets rendered before them)")
    ap.add_argument("--max-kb", type=int, default=0, help="lower the JPEG quality until each file fits (0: off)")
    args = ap.parse_args(argv)

    from inference.body.load import load_body

    families = [f for f in args.families.split(",") if f]
    for f in families:
        if f not in FAMILIES:
            ap.error(f"unknown family {f!r}; choose from {', '.join(FAMILIES)}")
    kinds = ("photo", "procedural") if args.background == "both" else (args.background,)
    out = Path(args.out)
    out_dirs = {k: out / k if len(kinds) > 1 else out for k in kinds}
    for d in out_dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    photos = photo_backgrounds(args.photos) if "photo" in kinds else None
    if "photo" in kinds and not photos:
        ap.error(f"no photos with annotations under {args.photos}: use --background procedural")
    data = load_body("open")
    # interleave the families so that a partial run already covers all of them
    for i in range(args.first, args.first + args.per_family):
        for family in families:
            name = f"{family}_{i:02d}"
            t0 = time.perf_counter()
            if all((d / f"{name}.npz").is_file() for d in out_dirs.values()):  # resumable: written last
                continue
            render_one(name, family, i, data, args, photos, out_dirs)
            print(f"{name} {time.perf_counter() - t0:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:] if "--" not in sys.argv else sys.argv[sys.argv.index("--") + 1:]))
