"""A video's fitted bodies (each in its own frame's camera) → one gravity-aligned world with the floor at y = 0.

`place_in_world` does it in four steps:
1. camera → world per frame: frame t's body is turned by CAMERA_TO_WORLD · R_t, R_t the camera's turn from
   frame t to frame 0 (inference.camera_motion), so that a panning or tilting camera does not move the body;
2. gravity: "up" is first the trunk's mean direction (inference.temporal.trunk_up), then the normal of a floor
   plane fitted to the body's lowest points in the frames where a foot is down (inference.temporal.floor_plane;
   the trunk holds the directions the contacts do not spread along); the world is turned so that it is +Y;
3. the floor: that plane, put at y = 0; the camera's height above it follows (a travelling camera's centres,
   measured in floor distances by inference.camera_motion, are scaled by that height and carry the bodies);
4. per frame, the body's depth along the camera's ray is corrected so that its lowest point lies on the floor
   where a foot is down: the world feet low and still, or the foot the pose says carries the body
   (inference.stance) (inference.temporal.depth_scales: the fitted size gives depth only roughly, and it
   drifts), interpolated through jumps and smoothed; then foot sliding is removed (temporal.ground_and_unslide)
   where the world feet are low and still, along the camera's line of sight only, and where the pose says a
   foot carries the body (inference.stance: in a walk the world feet slide with the depth's noise), along the
   line of sight for a camera turning on its spot, on the whole floor for a travelling one; last, the root path
   is smoothed once more (temporal.smooth_path: what the depth, the unsliding and a travelling camera's
   centres add frame to frame). A travelling camera's turns are smoothed too (temporal.smooth_rotations).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FOOT_JOINTS = (7, 8, 10, 11)  # left/right ankle, left/right foot
CONTACT_HEIGHT = 0.06  # m above the floor (the foot joints sit a few cm above the sole)
CONTACT_SPEED = 0.4  # m/s horizontal, on smoothed feet


@dataclass
class WorldMotion:
    """pose [T,24,3], transl [T,3] in the grounded world; camera_rotation [T,3,3] camera-to-world and
    camera_position [T,3]; contact [T,F] bool per foot joint; facts: JSON-able numbers for the metadata."""

    pose: np.ndarray
    transl: np.ndarray
    camera_rotation: np.ndarray
    camera_position: np.ndarray
    contact: np.ndarray
    facts: dict


def contacts(feet, fps) -> np.ndarray:
    """feet [T,F,3] world → contact [T,F] bool, judged on a strongly smoothed copy of the feet.

    Fitted feet jitter by several mm a frame in depth, more than temporal.foot_contacts' speed limit allows at
    30 fps, and each contact that breaks off keeps its correction: a random walk of the root. Judged on smoothed
    feet, with a little more height, contacts last as long as the foot really stays down.
    """
    from .temporal import floor_height, foot_contacts, one_euro

    calm = one_euro(feet, fps, min_cutoff=1.0, beta=0.05)
    calm[..., 1] -= floor_height(feet)  # the lowest foot's low percentile as the floor, for this judgement only
    return foot_contacts(calm, fps, height=CONTACT_HEIGHT, speed=CONTACT_SPEED)


PLANTED_SPEED = 0.5  # m/s: a foot joint slower than this (smoothed, horizontal and vertical) may carry weight
PLANTED_ABOVE = 0.10  # m: ... when it is at most this far above the lowest foot joint of its frame


def planted(feet, fps) -> np.ndarray:
    """feet [T,F,3] world (y up) → [T] bool: a foot is down in that frame (a foot joint nearly still, and among
    the lowest of its frame), judged without the floor's height, which the depth's drift moves: used to find
    the floor and to put the body on it."""
    from .temporal import one_euro

    calm = one_euro(feet, fps, min_cutoff=1.0, beta=0.05)
    speed = np.zeros(feet.shape[:2])
    if len(feet) > 1:
        speed[1:] = np.linalg.norm(np.diff(calm, axis=0), axis=-1) * fps
        speed[0] = speed[1]
    low = calm[..., 1] <= calm[..., 1].min(axis=1, keepdims=True) + PLANTED_ABOVE
    return ((speed < PLANTED_SPEED) & low).any(axis=1)


LOW_JOINTS = (7, 8, 10, 11)  # ankles, feet: the vertices that can be a standing body's lowest


LOW_COUNT = 32  # lowest vertices kept per frame: the lowest after a turn of a few degrees is among them


def lowest(candidates: np.ndarray) -> np.ndarray:
    """candidates [T,K,3] → the lowest (smallest y) of each frame [T,3]."""
    return candidates[np.arange(len(candidates)), candidates[..., 1].argmin(axis=1)]


def lowest_points(model, pose, betas, transl, count: int = 1) -> np.ndarray:
    """The body mesh's lowest vertex (smallest y) per frame → [T,3] world (count > 1: the `count` lowest,
    [T,count,3]), among the vertices skinned mostly to the legs below the knees (LOW_JOINTS): SMPL's skinning
    (with its pose correctives) of those vertices only, in chunks of frames (memory stays flat)."""
    if len(pose) > CHUNK:
        return np.concatenate([lowest_points(model, pose[s:s + CHUNK], betas, transl[s:s + CHUNK], count)
                               for s in range(0, len(pose), CHUNK)])
    import torch

    from .body.kinematics import rigid_joints
    from .rotations import axis_angle_to_matrix

    data = model.data
    ids = np.flatnonzero(data.weights[:, list(LOW_JOINTS)].sum(axis=1) > 0.5)
    verts, rest = data.shaped(betas)
    rots = axis_angle_to_matrix(torch.as_tensor(np.asarray(pose, dtype=np.float64)))
    with torch.no_grad():
        _, a = rigid_joints(rots, torch.as_tensor(rest)[None].expand(len(rots), -1, -1), model.parents.cpu())
    rots, a = rots.numpy(), a.numpy()
    v = np.repeat(verts[ids][None], len(pose), 0)
    if data.has_pose_correctives:
        feat = (rots[:, 1:] - np.eye(3)).reshape(len(pose), -1)  # SMPL's pose feature, [T,207]
        v = v + (feat @ data.posedirs[ids].reshape(-1, feat.shape[1]).T).reshape(v.shape)
    t = len(a)  # blended transforms [T,S,4,4], as one matrix product (numpy's batched form is far slower)
    m = (data.weights[ids] @ a.reshape(t, 24, 16).transpose(1, 0, 2).reshape(24, -1)).reshape(-1, t, 4, 4)
    m = m.transpose(1, 0, 2, 3)
    v = (m[..., :3, :3] * v[..., None, :]).sum(-1) + m[..., :3, 3] + np.asarray(transl)[:, None]
    if count == 1:
        return lowest(v)
    idx = np.argpartition(v[..., 1], min(count, v.shape[1]) - 1, axis=1)[:, :count]
    return np.take_along_axis(v, idx[..., None], axis=1)


SINK_KEPT = 0.02  # m: a frame may stay this far below the floor after the lift is smoothed


def lift_out_of_floor(low_y, fps) -> np.ndarray:
    """The lowest point's height per frame [T] → a lift [T] (m, >= 0) that takes the frames sunk into the floor
    (depth errors a planted foot's correction did not reach: a step, a turn) back onto it, smoothed over ~0.05 s
    so that it adds no jerk, and never leaving a frame more than SINK_KEPT under."""
    from .temporal import gaussian_smooth

    need = np.maximum(0.0, -np.asarray(low_y, dtype=np.float64))
    return np.maximum(gaussian_smooth(need, max(1.0, 0.05 * fps)), need - SINK_KEPT)


CHUNK = 512  # frames skinned at once
MIN_TRAVEL = 0.5  # floor distances (0.8 m for a camera 1.6 m high): a shorter camera path is noise
CENTRE_SMOOTH_S = 0.15  # s: the Gaussian's sigma over a moving camera's centres
TURN_SMOOTH_S = 0.07  # s: the Gaussian's sigma over a travelling camera's turns (inference.temporal.smooth_rotations)
ROOT_SMOOTH_S = 0.07  # s: the Gaussian's sigma over the final root path (inference.temporal.smooth_path)
def place_in_world(model, pose, transl, betas, turns, fps, smooth: float = 0.5) -> WorldMotion:
    """pose [T,24,3], transl [T,3]: the fitted bodies in each frame's camera; turns [T,3,3]: camera t → camera 0
    (None: a still camera), or [T,3,4] with camera t's centre in camera 0's coordinates beside it, in units of
    the floor's distance (CameraTracker.motion); betas [K]. → WorldMotion (steps in the module docstring).

    A moving camera's centres are scaled by the camera's height, found by a first placement with the turns
    alone (the height barely depends on where the camera went), and the bodies are carried along with them."""
    if turns is not None and np.shape(turns)[-1] == 4:
        turns = np.asarray(turns, dtype=np.float64)
        rot, centres = turns[..., :3], turns[..., 3]
        # a camera held on one spot still drifts by the steps' noise (10-20 cm over a clip, a few % of its
        # height a second): a travel below MIN_TRAVEL floor distances is taken as none
        if not np.ptp(centres, axis=0).max() >= MIN_TRAVEL:
            return place_in_world(model, pose, transl, betas, rot, fps, smooth)
        height = place_in_world(model, pose, transl, betas, rot, fps, smooth).facts["camera_height_m"]
        from .temporal import gaussian_smooth, smooth_rotations

        # each step's translation is read off a few dozen floor corners: smoothed over ~0.15 s (a walk's bob
        # and a hand's shake are not worth the noise they bring into the body's path)
        centres = gaussian_smooth(centres, max(1.0, CENTRE_SMOOTH_S * fps))
        # the turns too: each frame's measured turn is off by a tenth to a third of a degree, which a travelling
        # camera's bodies (4-6 m away) carry as centimetres of sideways jitter
        rot = smooth_rotations(rot, TURN_SMOOTH_S * fps)
        return placed(model, pose, transl, betas, rot, centres * height, fps, smooth)
    return placed(model, pose, transl, betas, turns, None, fps, smooth)


def placed(model, pose, transl, betas, turns, centres, fps, smooth) -> WorldMotion:
    """place_in_world with the camera centres known in metres (centres [T,3] in camera 0's coordinates, or None)."""
    from .body.kinematics import motion_joints
    from .conventions import CAMERA_TO_WORLD
    from .results import reframe
    from .rotations import axis_angle_to_matrix
    from .stance import stance_contacts
    from .temporal import (depth_scales, floor_plane, ground_and_unslide, level_rotation, smooth_motion,
                           smooth_path, trunk_up)

    t = len(pose)
    turns = np.repeat(np.eye(3)[None], t, 0) if turns is None else np.asarray(turns, dtype=np.float64)
    rest_pelvis = model.data.shaped(betas)[1][0]
    cam = CAMERA_TO_WORLD @ turns  # [T,3,3] camera t → world (world = frame 0's level camera, Y up)
    pose, transl = reframe(pose, transl, rest_pelvis, rotation=cam)
    moved = np.zeros((t, 3)) if centres is None else np.asarray(centres, dtype=np.float64) @ CAMERA_TO_WORLD.T
    transl = transl + moved  # each body is seen from its own frame's camera centre
    pose, transl = smooth_motion(pose, transl, fps, strength=smooth)

    joints = motion_joints(model, pose, betas, transl)
    level = level_rotation(trunk_up(joints))  # a first guess of gravity: the trunk, on average
    down = planted(joints[:, FOOT_JOINTS] @ level.T, fps)
    candidates = lowest_points(model, pose, betas, transl, count=LOW_COUNT) @ level.T
    low = lowest(candidates)
    normal, _ = floor_plane(low[down] if down.sum() >= 3 else low, np.array([0.0, 1.0, 0.0]))
    turn = level_rotation(normal)
    level = turn @ level
    # turning the world about its origin turns every point of every body the same way (results.reframe)
    pose, transl = reframe(pose, transl, rest_pelvis, rotation=level)
    cam = level @ cam
    low = lowest(candidates @ turn.T)
    feet = joints[:, FOOT_JOINTS] @ level.T
    floor = float(np.median(low[down, 1])) if down.any() else float(np.percentile(low[:, 1], 5))
    transl, low, feet = transl - [0.0, floor, 0.0], low - [0.0, floor, 0.0], feet - [0.0, floor, 0.0]
    eye = moved @ level.T - [0.0, floor, 0.0]  # camera centres [T,3] (origin: frame 0's, before the floor moved)
    # the foot that carries the body, from the pose alone (inference.stance): in a walk the world feet carry the
    # depth's noise, so contacts read off them matched the truth's at chance on the rendered walks, and a walk
    # with few of them had its depth corrected near its start only (a rendered walk floated 17 cm by its end)
    heading = axis_angle_to_matrix(pose[:, 0])[:, [0, 2], 2]  # the pelvis's forward (body +z), horizontal
    body_feet = (joints[:, FOOT_JOINTS] - joints[:, :1]) @ level.T  # foot joints minus the pelvis, world axes
    carrying = stance_contacts(body_feet, heading, fps)  # [T,4]
    scales = depth_scales(low, down | carrying.any(axis=1), eye[:, 1], fps) if eye[:, 1].min() > 0.3 else np.ones(t)
    shift = (scales - 1.0)[:, None] * (low - eye)
    transl, feet = transl + shift, feet + shift[:, None]
    # foot sliding, in two passes. First where the world feet are low and still (a person standing, a slow
    # shuffle: there they are right), along the line of sight only, so that the body keeps its place on the
    # footage (inference.temporal.ground_and_unslide)
    sight = (transl + rest_pelvis - eye)[:, [0, 2]]  # horizontal line of sight camera → pelvis
    sight = sight / np.maximum(np.linalg.norm(sight, axis=1, keepdims=True), 1e-9)
    unslid_from = transl.copy()
    transl, still = ground_and_unslide(transl, feet, fps, contact=contacts(feet, fps), floor=0.0, along=sight)
    feet = feet + (transl - unslid_from)[:, None]
    # then where the pose says a foot is planted (`carrying`). Along the line of sight only, as above, when the
    # camera turns on its spot: across it the image fixes the body's place (in full 2D the body drifted off the
    # player on tennis.mp4 by 36 px, 250 px at worst); in full 2D when the camera travels: its centres and turns,
    # read off a few dozen floor corners, carry the body sideways by centimetres a frame, which the planted foot
    # shows (on a rendered dolly, 52 → 37 mm/frame of skate)
    transl, stance = ground_and_unslide(transl, feet, fps, contact=carrying, floor=0.0,
                                        along=sight if centres is None else None)
    contact = still | stance
    # the root path last of all: the depth scales, the unsliding and (for a travelling camera) the camera's own
    # centres each bring a few millimetres of per-frame noise that the first smoothing never saw; a constant
    # velocity is kept to the clip's ends (smooth_path) and a walk's ~2 Hz bob keeps three quarters of its size
    transl = smooth_path(transl, ROOT_SMOOTH_S * fps)
    transl = transl + [0.0, 1.0, 0.0] * lift_out_of_floor(lowest_points(model, pose, betas, transl)[:, 1], fps)[:, None]
    tilt = float(np.degrees(np.arccos(np.clip(-cam[0][1, 1], -1, 1))))  # first frame's camera-up vs the world's
    facts = {"camera_height_m": float(eye[0, 1]), "first_camera_tilt_deg": tilt,
             "depth_scale_range": [float(scales.min()), float(scales.max())],
             "contact_frames": int(down.sum())}
    return WorldMotion(pose, transl, cam, eye, contact, facts)
