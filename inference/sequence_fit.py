"""Batched temporal fitting of a body to a run of video frames (one chunk at a time), on inference.fit's pieces.

`fit_chunk(model, keypoints2d [N,33,3], cam [4], world [N,33,3], observed [N], ...) -> ChunkFit`

Energy of a chunk (the per-frame terms are inference.fit's; the temporal ones are added here):
- per frame, where observed: confidence-weighted Geman-McClure of the projected joints against the keypoints
  (in units of the person's box), 1 - cos of bone directions against MediaPipe's 3D landmarks;
- per frame: joint-angle limits, a small pose regulariser (and a pull towards a regressor's pose if given);
- one shape for the whole video: a single betas vector, pulled towards the previous chunk's;
- temporal: squared differences of consecutive rotation matrices (smooth rotations), squared acceleration of
  the joints and of the root translation (smooth path), each in metres and seconds so the weights do not
  depend on the frame rate. The previous chunk's last frame (`prev`) is a fixed frame before the first one,
  so chunks join without a step, and its fit warm-starts this one (betas and, for frames without a good
  initial guess, pose and translation).
Frames not observed (short gaps being filled) have no data terms: the temporal terms carry them across.
`plan_chunks` cuts a video's frames into chunks: each holds an observed frame; runs where the person is lost
(before the first sighting, gaps longer than the filled ones) are skipped, never fitted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .body.skeleton import NUM_JOINTS

# The per-frame balance of the video fit (FitOptions fields): the 2D term's scale and the 3D term's weight that its
# temporal terms were tuned with. The photo fit's narrower 2D scale and stronger 3D term (FitOptions' defaults)
# were measured on photos only (bench/RESULTS.md); video keeps these until measured on video.
VIDEO_FRAME_TERMS = {"sigma": 0.15, "w_bone3d": 0.05}


@dataclass
class SequenceOptions:
    steps_global: int = 30
    steps_full: int = 90
    lr_global: float = 0.05
    lr_full: float = 0.03
    w_rot: float = 2.0  # Σ ||R_t - R_t-1||² per joint, scaled by (30 / fps)⁻² (per 1/30 s)
    w_acc: float = 1.0  # Σ ||J_t - 2 J_t-1 + J_t-2||² (metres), scaled to 30 fps
    w_root_acc: float = 1.0  # the same for the root translation
    w_betas_prev: float = 100.0  # one shape per video: held (nearly) at the first chunk's; a free shape drifts with depth


@dataclass
class ChunkFit:
    """pose [N,24,3] axis-angle (camera-frame root), betas [K], transl [N,3] camera frame, joints [N,24,3]
    camera frame (SMPL joints), loss [N] (numpy float64)."""

    pose: np.ndarray
    betas: np.ndarray
    transl: np.ndarray
    joints: np.ndarray
    loss: np.ndarray


def interp_known(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """values [N,...]: rows not known replaced by linear interpolation over time (nearest at the ends)."""
    if known.all() or not known.any():
        return values
    t = np.arange(len(values))
    flat = values.reshape(len(values), -1)
    out = np.stack([np.interp(t, t[known], flat[known, c]) for c in range(flat.shape[1])], 1)
    return out.reshape(values.shape)


def plan_chunks(observed, done: int, chunk_size: int, max_gap: int, final: bool) -> list[tuple[int, int, bool]]:
    """Which frames to fit next, in chunks: observed [T] bool (T frames recorded so far), `done` frames already
    handled → [(a, b, fit)], consecutive from `done`.

    fit=True: fit frames a..b-1 as one chunk; it always holds an observed frame (fit_chunk needs one), stretched
    past `chunk_size` to the next observation when a short gap would leave it empty. fit=False: frames where the
    person is lost, never fitted: those before the first observation, and each run of more than `max_gap`
    unobserved frames between two observations (video.py interpolates these and marks them neither detected nor
    filled). Nothing after the last observation is planned (its fate is unknown until more frames come, and a
    person lost for good leaves it out); unless `final`, only whole chunks are planned.
    """
    observed = np.asarray(observed, bool)
    hits = np.flatnonzero(observed)
    plan = []
    if not len(hits):
        return plan
    upto = hits[-1] + 1
    d = int(done)
    while d < upto:
        if not observed[d]:
            nxt = hits[np.searchsorted(hits, d)]
            before = hits[hits < d]
            if not len(before) or nxt - before[-1] - 1 > max_gap:  # lost: skip to where they are seen again
                plan.append((d, int(nxt), False))
                d = int(nxt)
                continue
        if not final and upto - d < chunk_size:
            break
        b = min(d + chunk_size, upto)
        if not observed[d:b].any():  # a short gap longer than a chunk: reach its end
            b = int(hits[np.searchsorted(hits, d)]) + 1
        plan.append((d, b, True))
        d = b
    return plan


def fit_chunk(model, keypoints2d, cam, world, observed, fps: float, init_pose=None, init_transl=None,
              betas=None, prev=None, fit_options=None, options: SequenceOptions | None = None,
              temporal: bool = True) -> ChunkFit:
    """Fit N consecutive frames at once.

    keypoints2d [N,33,3] px; cam [4] (fx, fy, cx, cy) shared by the frames; world [N,33,3] MediaPipe world
    landmarks; observed [N] bool (False: no data, carried by the temporal terms); init_pose [N,24,3] camera
    frame (a regressor's) or None (analytic IK from `world`); init_transl [N,3] or None; betas [K] to start
    from (the previous chunk's) or None; prev: (pose [24,3], transl [3]) of the frame just before, or None.
    temporal=False fits each frame on its own (the baseline).
    """
    import torch

    from .fit import Adam, FitOptions, FrameTerms, KeypointJoints, initial_translation, torso_depth
    from .init_pose import pose_from_world_landmarks
    from .keypoint_map import KeypointMap
    from .rotations import axis_angle_to_matrix, matrix_to_axis_angle, matrix_to_rot6d, rot6d_to_matrix

    fo = fit_options or FitOptions(**VIDEO_FRAME_TERMS)
    so = options or SequenceOptions()
    dev, dt = model.device, model.dtype
    kmap = KeypointMap(model.joint_names)
    kj = KeypointJoints(model, kmap)
    kp = np.asarray(keypoints2d, dtype=np.float64).reshape(-1, 33, 3)
    n = len(kp)
    observed = np.asarray(observed, bool).reshape(n)
    if not observed.any():
        raise ValueError("fit_chunk needs at least one observed frame")
    world = np.asarray(world, dtype=np.float64).reshape(n, 33, -1)[..., :3]
    cams = np.tile(np.asarray(cam, dtype=np.float64).reshape(1, 4), (n, 1))
    targets = kmap.targets_from_mediapipe(kp)
    conf = np.where(targets[..., 2] >= fo.min_visibility, targets[..., 2], 0.0) * kmap.weights
    conf[~observed] = 0.0
    vis_pts = [t[c > 0, :2] if (c > 0).sum() >= 2 else t[:, :2] for t, c in zip(targets, conf)]
    box = np.array([max(np.ptp(p[:, 0]), np.ptp(p[:, 1]), 1.0) for p in vis_pts])
    box = interp_known(box, observed)

    k = model.num_betas
    betas0 = np.zeros(k) if betas is None else np.asarray(betas, dtype=np.float64).reshape(-1)[:k]
    t = lambda a: torch.as_tensor(np.asarray(a), dtype=dt, device=dev)  # noqa: E731
    with torch.no_grad():
        rest = (kj.j_template + torch.einsum("jck,k->jc", kj.j_shapedirs, t(betas0))).cpu().numpy()

    # Initial pose: given, or IK per observed frame; gaps interpolated (in 6D) from their neighbours.
    if init_pose is not None:
        pose0 = np.asarray(init_pose, dtype=np.float64).reshape(n, 24, 3).copy()
    else:
        pose0 = np.zeros((n, 24, 3))
        pose0[observed] = pose_from_world_landmarks(world[observed], rest)
    known = observed.copy()
    if prev is not None:  # the previous chunk's last frame joins the interpolation as frame -1
        pose0 = np.concatenate([np.asarray(prev[0], dtype=np.float64)[None], pose0])
        known = np.concatenate([[True], known])
    six = interp_known(matrix_to_rot6d(axis_angle_to_matrix(pose0)), known)
    pose0 = matrix_to_axis_angle(rot6d_to_matrix(six))[len(pose0) - n:]

    if init_transl is None:
        with torch.no_grad():
            j0 = kj(axis_angle_to_matrix(t(pose0)), t(np.tile(betas0, (n, 1))), t(np.zeros((n, 3)))).cpu().numpy()
        transl0 = initial_translation(j0, targets[..., :2], np.maximum(conf, 1e-9 * observed[:, None]), cams,
                                      torso_depth(kmap, j0, targets, cams[:, 0]))
        transl0 = interp_known(transl0, observed)
    else:
        transl0 = np.asarray(init_transl, dtype=np.float64).reshape(n, 3)

    r_init = t(axis_angle_to_matrix(pose0[:, 0]))
    d_root = torch.zeros(n, 3, dtype=dt, device=dev, requires_grad=True)
    body = t(pose0[:, 1:]).clone().requires_grad_(True)
    body_init = t(pose0[:, 1:])
    betas_p = t(betas0[None]).clone().requires_grad_(True)
    betas_ref = t(betas0[None])
    w_prev = so.w_betas_prev if betas is not None else 0.0  # the first chunk finds the shape
    transl = t(transl0).clone().requires_grad_(True)
    wt = kmap.targets_from_mediapipe(world)
    obs_dir = wt[:, kmap.bones[:, 1]] - wt[:, kmap.bones[:, 0]]
    obs_dir = t(obs_dir / np.maximum(np.linalg.norm(obs_dir, axis=-1, keepdims=True), 1e-9))
    vis = targets[..., 2] * observed[:, None]
    w3d = t(np.minimum(vis[:, kmap.bones[:, 0]], vis[:, kmap.bones[:, 1]]))
    terms = FrameTerms(fo, kmap, t(targets[..., :2]), t(conf), t(cams), t(box), body_init, obs_dir, w3d)
    rate = (fps / 30.0) ** 2  # differences per frame → per 1/30 s: weights independent of the frame rate
    # Energy per step, cheaply (a chunk's time goes to many tiny ops): one kinematic chain gives both the keypoint
    # joints and the SMPL joints of the acceleration term, the fixed previous frame riding along as frame 0 of
    # the batch; in the first stage (root and translation only) no chain is evaluated at all: the body is posed
    # once without its root, then turned rigidly about the root joint each step (KeypointJoints.turned).
    lead = 0  # frames before the chunk's own in the batch: the previous chunk's last one
    if prev is not None:
        lead = 1
        prev_rot = axis_angle_to_matrix(t(np.asarray(prev[0], dtype=np.float64)))[None]
        prev_transl = t(np.asarray(prev[1], dtype=np.float64))[None]

    def batch(rots, tr):
        """The chunk's rotations [N,24,3,3] and translations [N,3], with the previous frame before them."""
        if prev is None:
            return rots, tr
        return torch.cat([prev_rot, rots], 0), torch.cat([prev_transl, tr], 0)

    def temporal_terms(all_rots, all_tr, sj):
        """Smooth rotations, joint and root paths over the batch (previous frame included)."""
        total = 0.0
        if len(all_rots) > 1:
            total = so.w_rot * rate * ((all_rots[1:] - all_rots[:-1]) ** 2).sum()
            if len(all_rots) > 2:
                acc = sj[2:] - 2 * sj[1:-1] + sj[:-2]
                total = total + so.w_acc * rate**2 * (acc**2).sum()
                racc = all_tr[2:] - 2 * all_tr[1:-1] + all_tr[:-2]
                total = total + so.w_root_acc * rate**2 * (racc**2).sum()
        return total

    def energy_full():
        """→ (total, per-frame data energy [N], SMPL joints [lead+N,24,3], root rotations [N,3,3])."""
        mats = axis_angle_to_matrix(torch.cat([d_root[:, None], body], 1))  # one Rodrigues for all 24: fewer ops
        r0 = r_init @ mats[:, 0]
        all_rots, all_tr = batch(torch.cat([r0[:, None], mats[:, 1:]], 1), transl)
        kp_j, sj = kj.with_smpl_joints(all_rots, betas_p.expand(len(all_rots), -1), all_tr)
        e = terms(kp_j[lead:], d_root, body, True)
        total = e.sum() + fo.w_shape * (betas_p**2).sum() * n + w_prev * ((betas_p - betas_ref) ** 2).sum() * n
        if temporal:
            total = total + temporal_terms(all_rots, all_tr, sj)
        return total, e, sj, r0

    def first_stage_energy():
        """The first stage's energy (torso data terms; d_root and transl free, body and shape fixed)."""
        with torch.no_grad():
            body_rots = axis_angle_to_matrix(body)
            eye = torch.eye(3, dtype=dt, device=dev).expand(n, 1, 3, 3)
            all_rots, all_tr = batch(torch.cat([eye, body_rots], 1), torch.zeros_like(transl))
            kp0, sj0 = kj.with_smpl_joints(all_rots, betas_p.expand(len(all_rots), -1), all_tr)
            pivot = kj.root_joint(betas_p)  # [1,1,3]
            # frame 0 of the batch is the previous frame as it is (its own root and translation): fixed here

        def energy_first():
            r0 = r_init @ axis_angle_to_matrix(d_root)
            e = terms(kj.turned(kp0[lead:], pivot, r0, transl), d_root, body, False)
            total = e.sum()
            if temporal:
                sj = torch.cat([sj0[:lead], kj.turned(sj0[lead:], pivot, r0, transl)], 0)
                total = total + temporal_terms(*batch(torch.cat([r0[:, None], body_rots], 1), transl), sj)
            return total, e

        return energy_first

    energy_first = first_stage_energy()

    def energy(full: bool):
        return energy_full()[:2] if full else energy_first()

    stages = ((False, [d_root, transl], so.steps_global, so.lr_global),
              (True, [d_root, body, betas_p, transl], so.steps_full, so.lr_full))
    for full, params, steps, lr in stages:
        adam = Adam(params)
        for i in range(steps):
            for p in params:
                p.grad = None
            total, _ = energy(full)
            total.backward()
            adam.step(lr * (0.1 + 0.45 * (1 + np.cos(np.pi * i / max(steps, 1)))))
    with torch.no_grad():
        _, e, sj, r0 = energy_full()
        joints = sj[lead:]
        pose = torch.cat([matrix_to_axis_angle(r0)[:, None], body], 1)
    f = lambda x: x.detach().double().cpu().numpy()  # noqa: E731
    return ChunkFit(pose=f(pose), betas=f(betas_p)[0], transl=f(transl), joints=f(joints)[:, :NUM_JOINTS],
                    loss=f(e))
