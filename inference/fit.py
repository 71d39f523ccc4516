"""SMPLify-style fitting of an SMPL-format body to 2D keypoints and 3D landmark directions (batched torch).

Energy, per image (weights in `FitOptions`):
- 2D: confidence-weighted Geman-McClure of the projected model joints (24 joints + vertex-picked extras,
  matched to MediaPipe through `keypoint_map`) against the detected keypoints, residuals measured in units
  of the person's keypoint-box size so the weights do not depend on the image resolution;
- 3D: scale-free and robust, Geman-McClure of the chord between the model's unit bone directions and MediaPipe's
  world-landmark ones, weighted by visibility with a floor (`bone_weights_3d`: a hidden limb keeps MediaPipe's
  guess; a hidden limb that MediaPipe puts in front of the torso hiding it is reversed first,
  `init_pose.occlusion_flips`); optionally several starts with one limb bone's depth flipped, the lowest full energy kept
  (`FitOptions.depth_hypotheses`, off: see bench/RESULTS.md); optionally a body seen from behind fitted with
  MediaPipe's left and right exchanged too (`FitOptions.back_swap`, off), the lower full energy kept;
- optionally (`FitOptions.outside_unseen`, off), a person cut by the picture's edge (given its size): keypoints
  MediaPipe guessed outside it have no 2D pull and their bones a lower 3D weight, and limb bones leaving through
  the bottom edge hang (inference.cropped);
- priors: joint-angle limits (`ANGLE_LIMITS`: box limits on each joint's local axis-angle components; zero
  inside), a pose regulariser (L2 of the local rotations, plus a pull towards the initial pose when it came
  from a regressor), a shape regulariser (L2 of the betas).
Stages: (1) global orientation + translation against the torso; (2) everything. Adam on the chosen device.

Camera: perspective, pinhole, OpenCV frame (x right, y down, z forward), intrinsics per image [B,4] =
(fx, fy, cx, cy) in pixels, chosen by the caller (a photo: EXIF, else inference.focal's estimate; a video: the
image diagonal, `default_focal`).

Only the matched joints are needed, so the fit evaluates them directly (`KeypointJoints`: rigid transforms
of the 24 joints plus skinning of the few extra vertices), not the whole mesh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .body.skeleton import JOINT_INDEX, NUM_JOINTS
from .camera import default_focal  # noqa: F401  (re-exported: the fit's documented default)
from .keypoint_map import LIMB_BONES, KeypointMap

# Limits of each joint's local axis-angle components (x, y, z) in radians, body frame (x = body's left,
# y = up, z = forward). Knees bend about +x only; elbows about y only (left negative, right positive);
# hips flex forward about -x. Joints not listed are limited to ±DEFAULT_LIMIT.
DEFAULT_LIMIT = 1.2
ANGLE_LIMITS = {
    "left_hip": ((-2.5, 0.7), (-0.9, 0.9), (-0.4, 1.4)),
    "right_hip": ((-2.5, 0.7), (-0.9, 0.9), (-1.4, 0.4)),
    "left_knee": ((-0.05, 2.7), (-0.25, 0.25), (-0.15, 0.15)),
    "right_knee": ((-0.05, 2.7), (-0.25, 0.25), (-0.15, 0.15)),
    "spine1": ((-0.6, 1.0), (-0.5, 0.5), (-0.5, 0.5)),
    "spine2": ((-0.3, 0.5), (-0.3, 0.3), (-0.3, 0.3)),
    "spine3": ((-0.3, 0.5), (-0.3, 0.3), (-0.3, 0.3)),
    "left_ankle": ((-0.8, 0.8), (-0.4, 0.4), (-0.4, 0.4)),
    "right_ankle": ((-0.8, 0.8), (-0.4, 0.4), (-0.4, 0.4)),
    "left_foot": ((-0.3, 0.3), (-0.1, 0.1), (-0.1, 0.1)),
    "right_foot": ((-0.3, 0.3), (-0.1, 0.1), (-0.1, 0.1)),
    "neck": ((-0.6, 0.8), (-0.6, 0.6), (-0.4, 0.4)),
    "head": ((-0.5, 0.6), (-0.8, 0.8), (-0.4, 0.4)),
    "left_collar": ((-0.3, 0.3), (-0.4, 0.4), (-0.3, 0.5)),
    "right_collar": ((-0.3, 0.3), (-0.4, 0.4), (-0.5, 0.3)),
    "left_shoulder": ((-2.0, 2.0), (-2.0, 1.5), (-1.6, 1.6)),
    "right_shoulder": ((-2.0, 2.0), (-1.5, 2.0), (-1.6, 1.6)),
    "left_elbow": ((-1.5, 1.5), (-2.7, 0.05), (-0.3, 0.3)),
    "right_elbow": ((-1.5, 1.5), (-0.05, 2.7), (-0.3, 0.3)),
    "left_wrist": ((-1.2, 1.2), (-0.8, 0.8), (-1.2, 1.2)),
    "right_wrist": ((-1.2, 1.2), (-0.8, 0.8), (-1.2, 1.2)),
    "left_hand": ((-0.4, 0.4), (-0.4, 0.4), (-0.4, 0.4)),
    "right_hand": ((-0.4, 0.4), (-0.4, 0.4), (-0.4, 0.4)),
}
_TORSO = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")


def angle_limit_bounds():
    """(lo [24,3], hi [24,3]) numpy arrays; the root (row 0) is unbounded."""
    from .body.skeleton import SMPL_JOINT_NAMES

    lo = np.full((NUM_JOINTS, 3), -DEFAULT_LIMIT)
    hi = np.full((NUM_JOINTS, 3), DEFAULT_LIMIT)
    lo[0], hi[0] = -np.inf, np.inf
    for name, lims in ANGLE_LIMITS.items():
        j = SMPL_JOINT_NAMES.index(name)
        lo[j], hi[j] = np.array(lims).T
    return lo, hi


def angle_limit_penalty(pose, lo=None, hi=None):
    """pose [B,24,3] local axis-angles (torch) → [B] sum of squared excursions outside the limits (0 inside)."""
    import torch

    if lo is None:
        lo, hi = angle_limit_bounds()
    lo = torch.as_tensor(lo[1:], dtype=pose.dtype, device=pose.device)
    hi = torch.as_tensor(hi[1:], dtype=pose.dtype, device=pose.device)
    body = pose[:, 1:]
    return (torch.relu(lo - body) ** 2 + torch.relu(body - hi) ** 2).sum((1, 2))


def geman_mcclure(sq, sigma):
    """Robust penalty of squared residuals `sq`: sq σ² / (sq + σ²) (≈ sq near 0, → σ² for outliers)."""
    return sq * sigma**2 / (sq + sigma**2)


class KeypointJoints:
    """The model joints matched by a KeypointMap, without the full mesh.

    __call__(rot_mats [B,24,3,3], betas [B,K], transl [B,3]) → joints [B,M,3] in the order of kmap.names,
    equal to BodyModel.forward(...).joints[:, kmap.joint_index].
    """

    def __init__(self, model, kmap: KeypointMap):
        import torch

        self.model, self.kmap = model, kmap
        jr = model.J_regressor
        self.j_template = jr @ model.v_template  # [24,3]
        self.j_shapedirs = torch.einsum("jv,vck->jck", jr, model.shapedirs)  # [24,3,K]
        extra_names = list(model.data.extra_vertex_ids)
        ids = [int(model.data.extra_vertex_ids[extra_names[j - NUM_JOINTS]]) for j in kmap.joint_index
               if j >= NUM_JOINTS]
        self.sel_is_extra = torch.as_tensor(kmap.joint_index >= NUM_JOINTS, device=model.device)
        self.sel_joint = torch.as_tensor(np.where(kmap.joint_index < NUM_JOINTS, kmap.joint_index, 0),
                                         device=model.device)
        idx = torch.as_tensor(ids, dtype=torch.long, device=model.device)
        self.num_extra = len(ids)
        self.e_template = model.v_template[idx]  # [E,3]
        self.e_shapedirs = model.shapedirs[idx]  # [E,3,K]
        v = model.v_template.shape[0]
        self.e_posedirs = model.posedirs.reshape(-1, v, 3)[:, idx]  # [207,E,3]
        self.pose_correctives = bool(model.data.has_pose_correctives)
        self.e_weights = model.weights[idx]  # [E,24]
        self.extra_order = torch.as_tensor(np.cumsum(kmap.joint_index >= NUM_JOINTS) - 1, device=model.device)
        # The kinematic chain one tree depth at a time (9 batched steps for SMPL instead of 23 joint by joint):
        # fewer tiny ops per step, which is what the fit's time goes to on a CPU.
        parents = [int(p) for p in model.parents.tolist()]
        depth = [0] * len(parents)
        for j in range(1, len(parents)):
            depth[j] = depth[parents[j]] + 1
        levels = [[j for j in range(len(parents)) if depth[j] == d] for d in range(max(depth) + 1)]
        order = [j for lvl in levels for j in lvl]
        self.level_sizes = [len(lvl) for lvl in levels]
        self.level_order = torch.as_tensor(order, device=model.device)
        self.level_parent = [torch.as_tensor([levels[d - 1].index(parents[j]) for j in levels[d]],
                                             device=model.device) for d in range(1, len(levels))]
        self.level_inverse = torch.as_tensor(np.argsort(order), device=model.device)
        self.parent_or_root = torch.as_tensor([max(p, 0) for p in parents], device=model.device)
        self.not_root = torch.as_tensor([0.0] + [1.0] * (len(parents) - 1), dtype=model.dtype, device=model.device)

    def chain(self, rot_mats, rest):
        """Global rotations [B,24,3,3] and posed joints [B,24,3] (no translation) of local rotations rot_mats
        [B,24,3,3] on rest joints [B,24,3]: kinematics.rigid_joints, evaluated one tree depth at a time."""
        import torch

        rel = rest - rest[:, self.parent_or_root] * self.not_root[:, None]
        rots = torch.split(rot_mats[:, self.level_order], self.level_sizes, 1)
        rels = torch.split(rel[:, self.level_order, :, None], self.level_sizes, 1)
        g_rot, g_pos = [rots[0]], [rels[0][..., 0]]
        for d, ppos in enumerate(self.level_parent, 1):
            parent_rot = g_rot[-1][:, ppos]
            g_rot.append(parent_rot @ rots[d])
            g_pos.append((parent_rot @ rels[d])[..., 0] + g_pos[-1][:, ppos])
        return torch.cat(g_rot, 1)[:, self.level_inverse], torch.cat(g_pos, 1)[:, self.level_inverse]

    def root_joint(self, betas):
        """The rest root joint [B,1,3] of the body shaped by betas [B,K]."""
        import torch

        return (self.j_template[0] + torch.einsum("ck,bk->bc", self.j_shapedirs[0], betas))[:, None]

    @staticmethod
    def turned(rootless, pivot, r0, transl):
        """Joints [B,M,3] posed with root rotation r0 [B,3,3] and transl [B,3], from `rootless` = the same call
        with an identity root and no translation, and pivot = root_joint(betas): a root rotation turns every
        joint (and every LBS transform, the skinning weights summing to 1) rigidly about the root joint."""
        return (rootless - pivot) @ r0.transpose(1, 2) + pivot + transl[:, None]

    def __call__(self, rot_mats, betas, transl):
        return self.with_smpl_joints(rot_mats, betas, transl)[0]

    def with_smpl_joints(self, rot_mats, betas, transl):
        """→ (the joints of __call__ [B,M,3], the SMPL joints [B,24,3]), from one kinematic chain."""
        import torch

        b = rot_mats.shape[0]
        rest = self.j_template + torch.einsum("jck,bk->bjc", self.j_shapedirs, betas)
        rot, posed = self.chain(rot_mats, rest)
        out = posed[:, self.sel_joint]
        if self.num_extra:
            v = self.e_template + torch.einsum("eck,bk->bec", self.e_shapedirs, betas)
            if self.pose_correctives:  # the open body has none: no zeros multiplied (and differentiated) per step
                eye = torch.eye(3, dtype=rot_mats.dtype, device=rot_mats.device)
                feat = (rot_mats[:, 1:] - eye).reshape(b, -1)  # [B,207]
                v = v + torch.einsum("bp,pec->bec", feat, self.e_posedirs)
            # LBS: A_j = (R_j, posed_j - R_j rest_j), blended by the skinning weights
            shift = posed - (rot @ rest[..., None])[..., 0]
            r = torch.einsum("ej,bjmn->bemn", self.e_weights, rot)
            v = torch.einsum("bemn,ben->bem", r, v) + torch.einsum("ej,bjm->bem", self.e_weights, shift)
            out = torch.where(self.sel_is_extra[None, :, None], v[:, self.extra_order.clamp(min=0)], out)
        return out + transl[:, None], posed + transl[:, None]


@dataclass
class FitOptions:
    # From a posed start (world landmarks' IK or a regressor) 60 full steps at 0.05 score the same COCO PCK as
    # 80 and within 0.5 mm the PA-MPJPE of the rendered 3D set (50 lose 1 mm, 40 lose 4 mm; bench/RESULTS.md,
    # issue 15). From the standing pose the fit keeps 160 at 0.03.
    steps_global: int = 40
    steps_full: int = 60
    lr_global: float = 0.05
    lr_full: float = 0.05
    cold_steps_full: int = 160
    cold_lr_full: float = 0.03
    # The 2D term's Geman-McClure scale, in person-box units. Narrow, so that a keypoint far off (an arm crossing
    # the body, a wrong wrist) stops pulling (its pull peaks at sigma / sqrt(3) and fades beyond), while the 3D
    # term, raised with it (the narrow scale also weighs the near keypoints more: the energy is divided by
    # sigma²), holds the limb. 0.15 / 0.05 before: PA-MPJPE 75.6 / 71.1 / 99.2 mm on the two tuning render sets
    # and the first held-out one; 0.065 / 0.15: 73.1 / 71.1 / 95.4, the COCO PCK kept (bench/RESULTS.md).
    sigma: float = 0.065
    w_kp2d: float = 1.0
    w_bone3d: float = 0.15
    sigma3d: float = 1.0  # Geman-McClure scale of the bone-direction chord |d - d_obs| (1.0: 60°)
    w_limits: float = 10.0
    w_pose: float = 0.002
    w_init: float = 0.0  # pull towards the initial pose (set when it came from a regressor)
    w_shape: float = 0.002
    min_visibility: float = 0.3
    floor3d: float = 0.5  # a bone's 3D weight at zero visibility (see bone_weights_3d)
    # Reverse the depth of a hidden limb bone that MediaPipe puts in front of the torso hiding it, on a person
    # turned away (init_pose.occlusion_flips): 206 -> 91 mm on the one rendered image where it fires.
    occlusion_depth: bool = True
    # Start from each limb bone's depth flipped too and keep the lowest energy. Off: on the rendered 3D set it
    # picked a wrong flip for a deep crouch (70 -> 180 mm) and did not pay elsewhere (bench/RESULTS.md).
    depth_hypotheses: bool = False
    # A person whose world landmarks show the back is also fitted with left and right exchanged and the depths
    # mirrored (init_pose.left_right_swapped), the lower full energy kept: a back view without a face leaves
    # MediaPipe's left/right a guess. Off: on the rendered sets it fired 3 times in 102 images; PA-MPJPE fell
    # each time (230 -> 173 mm where MediaPipe had read a front as a back), but twice MediaPipe had been right and
    # the body came out facing the wrong way (MPJPE 143 -> 350 mm), which PA-MPJPE forgives (bench/RESULTS.md).
    back_swap: bool = False
    # Keypoints MediaPipe guessed outside the picture (fit_keypoints given image_size; inference.cropped): no 2D
    # pull, this 3D weight for the bones they end (below floor3d, a limb hidden inside the picture: the guess of a
    # limb MediaPipe cannot see at all is worse), and a limb bone leaving through the bottom edge hangs (a robust
    # pull of w_hang towards the camera's down). Chosen on the tuning render sets' cropped people (bench/RESULTS.md).
    unseen3d: float = 0.3
    w_hang: float = 0.05
    # Whether the above applies (also needs image_size). Off: it lowered the cropped people's error on the tuning
    # sets (procedural 95.5 -> 86.6 mm) but raised it on three of four held-out sets (e.g. seed 18: 94.9 -> 101.0),
    # bench/RESULTS.md "Limbs outside the picture".
    outside_unseen: bool = False


@dataclass
class FitResult:
    """pose [B,24,3] axis-angle (camera frame root), betas [B,K], transl [B,3], joints [B,M,3] camera frame
    (the matched joints, kmap order), joints2d [B,M,2] px, final loss [B] (numpy arrays); swapped [B] bool: the
    fit kept took MediaPipe's left and right the other way round (FitOptions.back_swap)."""

    pose: np.ndarray
    betas: np.ndarray
    transl: np.ndarray
    joints: np.ndarray
    joints2d: np.ndarray
    loss: np.ndarray
    swapped: np.ndarray | None = None


class Adam:
    """Plain Adam (Kingma & Ba). torch.optim's first use imports torch._dynamo, about 3 s on a small CPU:
    more than the whole fit."""

    def __init__(self, params, betas=(0.9, 0.999), eps=1e-8):
        import torch

        self.params, self.b1, self.b2, self.eps, self.t = params, betas[0], betas[1], eps, 0
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]

    def step(self, lr):
        import torch

        self.t += 1
        c1, c2 = 1 - self.b1**self.t, 1 - self.b2**self.t
        with torch.no_grad():
            for p, m, v in zip(self.params, self.m, self.v):
                if p.grad is None:
                    continue
                m.mul_(self.b1).add_(p.grad, alpha=1 - self.b1)
                v.mul_(self.b2).addcmul_(p.grad, p.grad, value=1 - self.b2)
                p.sub_(lr / c1 * m / ((v / c2).sqrt() + self.eps))


def _project(points, cam):
    """points [B,N,3] camera frame, cam [B,4] (fx, fy, cx, cy) → [B,N,2] pixels."""
    z = points[..., 2:3].clamp(min=1e-2)
    return points[..., :2] / z * cam[:, None, :2] + cam[:, None, 2:]


def initial_translation(joints0, targets2d, weights, cam, depth_guess):
    """Translation t [B,3] that best projects the posed joints (at t = 0) onto the 2D targets.

    joints0 [B,M,3], targets2d [B,M,2], weights [B,M], cam [B,4], depth_guess [B] (from the torso's size).
    Perspective projection is linear in t once multiplied out: fx tx - (u - cx) tz = (u - cx) Z - fx X
    (likewise for y); solved by weighted least squares with a weak pull of tz towards the size-based guess.
    """
    b, m, _ = joints0.shape
    out = np.zeros((b, 3))
    for i in range(b):
        fx, fy, cx, cy = cam[i]
        du, dv = targets2d[i, :, 0] - cx, targets2d[i, :, 1] - cy
        x, y, z = joints0[i].T
        w = np.sqrt(weights[i])
        rows = [np.stack([fx * np.ones(m), np.zeros(m), -du], 1) * w[:, None],
                np.stack([np.zeros(m), fy * np.ones(m), -dv], 1) * w[:, None]]
        rhs = [(du * z - fx * x) * w, (dv * z - fy * y) * w]
        lam = 0.05 * max(fx, 1.0) * max(w.max(), 1e-3)  # weak prior, comparable to one point's row
        rows.append(np.array([[0.0, 0.0, lam]]))
        rhs.append(np.array([lam * depth_guess[i]]))
        out[i] = np.linalg.lstsq(np.concatenate(rows), np.concatenate(rhs), rcond=None)[0]
    return out


def bone_weights_3d(visibility, bones, floor):
    """Weights [B,Bn] of the bone-direction term from the keypoints' visibilities [B,M] and bones [Bn,2]:
    floor + (1 - floor) x the lower visibility of the two ends. An occluded limb (a hand behind the body,
    a leg hidden by a chair) has no 2D evidence at all, and MediaPipe's 3D guess for it is still far better
    than the pose prior alone, so it keeps a weight."""
    v = np.minimum(visibility[:, bones[:, 0]], visibility[:, bones[:, 1]])
    return floor + (1.0 - floor) * np.clip(v, 0.0, 1.0)


def torso_depth(kmap, joints0, targets, fx) -> np.ndarray:
    """A depth guess [B] (m): fx [B] px times the model's shoulder–hip length (joints0 [B,M,3], m, kmap order)
    over the detected one (targets [B,M,≥2], px)."""
    torso = [kmap.names.index(n) for n in _TORSO if n in kmap.names]
    l3 = np.linalg.norm(joints0[:, torso[0]] - joints0[:, torso[2]], axis=-1)
    l2 = np.linalg.norm(targets[:, torso[0], :2] - targets[:, torso[2], :2], axis=-1)
    return np.asarray(fx) * l3 / np.maximum(l2, 1.0)


class FrameTerms:
    """The per-frame energy of the module docstring, shared by the photo fit and the video fit
    (inference/sequence_fit.py): robust 2D reprojection, 3D bone directions, joint-angle limits, the pose
    regulariser and the pull towards the initial pose. Shape terms are the caller's (per image or per video).

    tgt [B,M,2] px, w2d [B,M], cam [B,4], scale [B] px (person size), body_init [B,23,3]; obs_dir [B,E,3] unit
    bone directions from MediaPipe's world landmarks and w3d [B,E] their weights, or None for no 3D term.
    hang [B,E]: 1 on the limb bones that leave the picture through its bottom edge (FitOptions.w_hang), or None.
    """

    def __init__(self, opt, kmap, tgt, w2d, cam, scale, body_init, obs_dir=None, w3d=None, hang=None):
        import torch

        self.opt, self.tgt, self.w2d, self.cam, self.scale = opt, tgt, w2d, cam, scale
        self.body_init, self.obs_dir, self.w3d = body_init, obs_dir, w3d
        self.hang = hang
        self.bones = torch.as_tensor(kmap.bones, device=tgt.device)
        self.torso = torch.as_tensor([1.0 if n in _TORSO else 0.0 for n in kmap.names], dtype=tgt.dtype,
                                     device=tgt.device)
        lo, hi = angle_limit_bounds()  # as tensors once: angle_limit_penalty would convert them every step
        self.lo = torch.as_tensor(lo, dtype=tgt.dtype, device=tgt.device)
        self.hi = torch.as_tensor(hi, dtype=tgt.dtype, device=tgt.device)

    def __call__(self, joints, d_root, body, full: bool):
        """joints [B,M,3] camera frame (kmap order), d_root [B,3], body [B,23,3] → energy [B]. Without `full`
        only the torso counts (the first stage places the body before posing it)."""
        import torch

        opt, bones = self.opt, self.bones
        res = (_project(joints, self.cam) - self.tgt) / self.scale[:, None, None]
        w = self.w2d if full else self.w2d * self.torso
        e2d = (w * geman_mcclure((res**2).sum(-1), opt.sigma)).sum(1) / w.sum(1).clamp(min=1e-6)
        e = opt.w_kp2d * e2d / opt.sigma**2
        if self.obs_dir is not None:
            d = joints[:, bones[:, 1]] - joints[:, bones[:, 0]]
            chord = ((torch.nn.functional.normalize(d, dim=-1) - self.obs_dir) ** 2).sum(-1)  # 2 (1 - cos)
            wb = self.w3d if full else self.w3d * self.torso[bones[:, 0]] * self.torso[bones[:, 1]]
            e = e + opt.w_bone3d * (wb * geman_mcclure(chord, opt.sigma3d)).sum(1)
        if full and self.hang is not None:  # a limb bone out of the picture below hangs (camera frame: y is down)
            d = torch.nn.functional.normalize(joints[:, bones[:, 1]] - joints[:, bones[:, 0]], dim=-1)
            down = torch.tensor([0.0, 1.0, 0.0], dtype=d.dtype, device=d.device)
            e = e + opt.w_hang * (self.hang * geman_mcclure(((d - down) ** 2).sum(-1), opt.sigma3d)).sum(1)
        if full:
            e = e + opt.w_limits * angle_limit_penalty(torch.cat([d_root[:, None] * 0, body], 1), self.lo, self.hi)
            e = e + opt.w_pose * (body**2).sum((1, 2)) + opt.w_init * ((body - self.body_init) ** 2).sum((1, 2))
        return e


def fit_keypoints(model, keypoints2d, cam, world=None, init_pose=None, init_betas=None, init_transl=None,
                  options: FitOptions | None = None, progress=None, world_init=None, image_size=None) -> FitResult:
    """Fit `model` (a BodyModel, on the device to use) to B images.

    keypoints2d [B,33,3] MediaPipe landmarks (x px, y px, visibility); cam [B,4] (fx, fy, cx, cy);
    world [B,33,≥3] MediaPipe world landmarks (camera-aligned, metres) or None; init_pose [B,24,3]
    camera-frame axis-angle (None: analytic IK from `world`, or a standing pose facing the camera);
    init_betas [B,K'] or None; init_transl [B,3] or None (then solved from the torso's size and the focal).
    world_init [B,33,≥3] or None: other world landmarks for the starting pose only (the analytic IK when
    init_pose is None; e.g. averaged with a mirrored pass, inference.pipeline.photo), `world` still the 3D term's.
    progress: optional callable(steps done, steps in all, "fit") (inference.progress).
    image_size [B,2] or (W, H): the pictures' sizes in px, or None. Given, and with FitOptions.outside_unseen,
    keypoints outside the picture are fitted as unseen (FitOptions.unseen3d, w_hang; inference.cropped); where every
    keypoint is inside, the fit is the same as without it.
    Runs with one torch CPU thread (`device.small_work_threads`): its ops are tiny, threads only add overhead.
    """
    from .device import small_work_threads
    from .init_pose import faces_away, left_right_swapped

    opt = options or FitOptions()
    kp = np.asarray(keypoints2d, dtype=np.float64).reshape(-1, 33, 3)
    b = kp.shape[0]
    back = np.zeros(b, dtype=bool)
    if opt.back_swap and world is not None and init_pose is None:
        world = np.asarray(world, dtype=np.float64).reshape(b, 33, -1)
        back = faces_away(world)
    idx = np.flatnonzero(back)
    if len(idx):  # the swapped reading of each back view rides along as one more image in the batch
        world_init = world if world_init is None else np.asarray(world_init, dtype=np.float64).reshape(b, 33, -1)
        kp_s, world_s = left_right_swapped(kp[idx], world[idx])
        more = lambda a: None if a is None else np.concatenate(  # noqa: E731  (each image's row, then the swaps')
            [np.asarray(a, dtype=np.float64).reshape(b, -1), np.asarray(a, dtype=np.float64).reshape(b, -1)[idx]])
        cam, init_betas, init_transl = more(cam), more(init_betas), more(init_transl)
        if image_size is not None:
            image_size = more(np.broadcast_to(np.asarray(image_size, dtype=np.float64).reshape(-1, 2), (b, 2)))
        world_init = np.concatenate([world_init, left_right_swapped(kp[idx], world_init[idx])[1]])
        kp, world = np.concatenate([kp, kp_s]), np.concatenate([world, world_s])
    with small_work_threads(1):
        res = _fit_keypoints(model, kp, cam, world, init_pose, init_betas, init_transl, opt, progress, world_init,
                             image_size)
    fields = ("pose", "betas", "transl", "joints", "joints2d", "loss")
    swapped = np.zeros(b, dtype=bool)
    for k, i in enumerate(idx):  # the reading with the lower full energy
        if res.loss[b + k] < res.loss[i]:
            swapped[i] = True
            for field in fields:
                getattr(res, field)[i] = getattr(res, field)[b + k]
    return FitResult(*(getattr(res, f)[:b] for f in fields), swapped=swapped)


def _fit_keypoints(model, keypoints2d, cam, world, init_pose, init_betas, init_transl, options, progress,
                   world_init, image_size=None):
    import torch

    from .cropped import unseen_targets
    from .init_pose import depth_flips, occlusion_flips, pose_from_world_landmarks
    from .rotations import axis_angle_to_matrix, matrix_to_axis_angle

    opt = options or FitOptions()
    dev, dt = model.device, model.dtype
    kmap = KeypointMap(model.joint_names)
    kj = KeypointJoints(model, kmap)
    kp = np.asarray(keypoints2d, dtype=np.float64).reshape(-1, 33, 3)
    b = kp.shape[0]
    if world_init is None:
        world_init = world
    if world is not None and opt.occlusion_depth:
        world = occlusion_flips(np.asarray(world, dtype=np.float64).reshape(b, 33, -1), kp)[0]
        world_init = occlusion_flips(np.asarray(world_init, dtype=np.float64).reshape(b, 33, -1), kp)[0]
    cam = np.asarray(cam, dtype=np.float64).reshape(b, 4)
    targets = kmap.targets_from_mediapipe(kp)  # [B,M,3]
    conf = np.where(targets[..., 2] >= opt.min_visibility, targets[..., 2], 0.0) * kmap.weights
    vis_pts = [t[c > 0, :2] if (c > 0).sum() >= 2 else t[:, :2] for t, c in zip(targets, conf)]
    box = np.array([max(np.ptp(p[:, 0]), np.ptp(p[:, 1]), 1.0) for p in vis_pts])  # person size, px
    cut = unseen_targets(kmap, kp, image_size) if opt.outside_unseen else None  # None: nothing to treat as unseen
    if cut is not None:  # no 2D pull from a guess (the person's box above keeps it: the size of the person)
        conf = np.where(cut[0], 0.0, conf)

    k = model.num_betas
    betas0 = np.zeros((b, k))
    if init_betas is not None:
        ib = np.asarray(init_betas, dtype=np.float64).reshape(b, -1)[:, :k]
        betas0[:, : ib.shape[1]] = ib
    t = lambda a: torch.as_tensor(np.asarray(a), dtype=dt, device=dev)  # noqa: E731
    with torch.no_grad():
        rest = (kj.j_template + torch.einsum("jck,bk->bjc", kj.j_shapedirs, t(betas0))).cpu().numpy()
    hyp = None  # [B,H,24,3] starting poses of the depth hypotheses (the first: the landmarks as given)
    if init_pose is not None:
        pose0 = np.asarray(init_pose, dtype=np.float64).reshape(b, 24, 3)
    elif world is not None:
        w = np.asarray(world_init, dtype=np.float64).reshape(b, 33, -1)
        worlds = depth_flips(w) if opt.depth_hypotheses else w[:, None]
        hyp = np.stack([pose_from_world_landmarks(worlds[i], rest[i]) for i in range(b)])
        pose0 = hyp[:, 0]
    else:  # upright, facing the camera: R_x(π) turns SMPL's y-up, +z-facing body into the camera frame
        pose0 = np.zeros((b, 24, 3))
        pose0[:, 0] = [np.pi, 0.0, 0.0]

    r_init = t(axis_angle_to_matrix(pose0[:, 0]))
    if init_transl is None:
        with torch.no_grad():
            j0 = kj(axis_angle_to_matrix(t(pose0)), t(betas0), t(np.zeros((b, 3)))).cpu().numpy()
        transl0 = initial_translation(j0, targets[..., :2], conf, cam, torso_depth(kmap, j0, targets, cam[:, 0]))
    else:
        transl0 = np.asarray(init_transl, dtype=np.float64).reshape(b, 3)

    d_root = torch.zeros(b, 3, dtype=dt, device=dev, requires_grad=True)  # R0 = R_init · exp(d_root)
    body = t(pose0[:, 1:]).clone().requires_grad_(True)
    betas = t(betas0).clone().requires_grad_(True)
    transl = t(transl0).clone().requires_grad_(True)
    body_init = t(pose0[:, 1:])
    obs_dir = w3d = None
    if world is not None and len(kmap.bones):
        wt = kmap.targets_from_mediapipe(np.asarray(world, dtype=np.float64).reshape(b, 33, -1)[..., :3])
        wvis = targets[..., 2]  # the keypoints' visibilities per target, as the 2D term reads them
        obs_dir = wt[:, kmap.bones[:, 1]] - wt[:, kmap.bones[:, 0]]
        obs_dir = t(obs_dir / np.maximum(np.linalg.norm(obs_dir, axis=-1, keepdims=True), 1e-9))
        w3d = bone_weights_3d(wvis, kmap.bones, opt.floor3d)
        if cut is not None:
            w3d = np.where(cut[0][:, kmap.bones].any(-1), np.minimum(w3d, opt.unseen3d), w3d)
        w3d = t(w3d)
    hang = None
    if cut is not None:
        limb = np.array([(kmap.names[i], kmap.names[j]) in LIMB_BONES for i, j in kmap.bones], dtype=bool)
        hang = t(cut[1][:, kmap.bones[:, 1]] & limb[None])
    frame_terms = lambda rep, init: FrameTerms(  # noqa: E731  (every per-image input repeated `rep` times)
        opt, kmap, *(x.repeat_interleave(rep, 0) for x in (t(targets[..., :2]), t(conf), t(cam), t(box))), init,
        *(None if x is None else x.repeat_interleave(rep, 0) for x in (obs_dir, w3d, hang)))
    terms = frame_terms(1, body_init)

    # Stage 1 moves only the root: the body below it is rigid, so its joints are posed once with an identity
    # root and then turned about the root joint (exact: each LBS transform gets the same root motion in front).
    with torch.no_grad():
        eye = torch.eye(3, dtype=dt, device=dev).expand(b, 1, 3, 3)
        rootless = kj(torch.cat([eye, axis_angle_to_matrix(body)], 1), betas, torch.zeros_like(transl))
        pivot = kj.root_joint(betas)

    def energy(full: bool):
        if full:  # one Rodrigues call for root and body: fewer tiny ops per step
            local = axis_angle_to_matrix(torch.cat([d_root[:, None], body], 1))
            rots = torch.cat([(r_init @ local[:, 0])[:, None], local[:, 1:]], 1)
            joints = kj(rots, betas, transl)
        else:
            r0 = r_init @ axis_angle_to_matrix(d_root)
            joints = KeypointJoints.turned(rootless, pivot, r0, transl)
        e = terms(joints, d_root, body, full)
        if full:
            e = e + opt.w_shape * (betas**2).sum(1)
        return e, joints

    posed_start = init_pose is not None or world is not None
    steps_full, lr_full = (opt.steps_full, opt.lr_full) if posed_start else (opt.cold_steps_full, opt.cold_lr_full)
    total = opt.steps_global + steps_full
    done = 0

    def descend(full, params, steps, lr):
        nonlocal done
        adam = Adam(params)
        for i in range(steps):
            for p in params:
                p.grad = None
            e, _ = energy(full)
            e.sum().backward()
            # cosine decay to a tenth of the rate: large moves first, then settle
            adam.step(lr * (0.1 + 0.45 * (1 + np.cos(np.pi * i / max(steps, 1)))))
            done += 1
            if progress is not None and done % 20 == 0:
                progress(done, total, "fit")

    descend(False, [d_root, transl], opt.steps_global, opt.lr_global)
    h = 1 if hyp is None else hyp.shape[1]
    if h > 1:  # every depth hypothesis from the placed root, batched: one run of stage 2 on B·H bodies
        rep = lambda x: x.detach().repeat_interleave(h, 0).requires_grad_(True)  # noqa: E731
        d_root, transl, betas = rep(d_root), rep(transl), rep(betas)
        r_init = r_init.repeat_interleave(h, 0)
        body = t(hyp[:, :, 1:].reshape(b * h, 23, 3)).requires_grad_(True)
        terms = frame_terms(h, body.detach().clone())
    descend(True, [d_root, body, betas, transl], steps_full, lr_full)
    with torch.no_grad():
        e, joints = energy(True)
        if h > 1:  # the hypothesis with the lowest full energy, per image
            best = e.reshape(b, h).argmin(1) + torch.arange(b, device=dev) * h
            e, joints, d_root, body, betas, transl, r_init = (
                x[best] for x in (e, joints, d_root, body, betas, transl, r_init))
        root = matrix_to_axis_angle(r_init @ axis_angle_to_matrix(d_root))
        pose = torch.cat([root[:, None], body], 1)
        j2d = _project(joints, terms.cam[:b] if h == 1 else terms.cam[::h])
    if progress is not None:
        progress(total, total, "fit")
    n = lambda x: x.detach().double().cpu().numpy()  # noqa: E731
    return FitResult(pose=n(pose), betas=n(betas), transl=n(transl), joints=n(joints), joints2d=n(j2d),
                     loss=n(e))


__all__ = ["FitOptions", "FitResult", "KeypointJoints", "ANGLE_LIMITS", "JOINT_INDEX", "angle_limit_bounds",
           "angle_limit_penalty", "bone_weights_3d", "default_focal", "fit_keypoints", "geman_mcclure",
           "initial_translation"]
