"""One interface for every SMPL-format body model: the arrays (`BodyModelData`) and a batched torch forward.

The arrays use SMPL's names and shapes (V vertices, K shape components, J = 24 joints, P = 207 correctives):
    v_template [V,3], shapedirs [V,3,K], posedirs [V,3,P], J_regressor [J,V] (dense), weights [V,J],
    kintree_table [2,J] (row 0: parents, -1 at the root), f [F,3]; optional vt [T,2] and ft [F,3] (UVs).
Frame: SMPL's (Y up, facing +Z at rest), metres, rest pose with identity joint frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import BadInputError, ModelFileError
from ..limits import check_finite
from .skeleton import NUM_JOINTS, NUM_POSE_CORRECTIVES, SMPL_JOINT_NAMES, SMPL_PARENTS


@dataclass
class BodyModelData:
    """The arrays of an SMPL-format model, validated on construction (raises ModelFileError)."""

    v_template: np.ndarray
    shapedirs: np.ndarray
    posedirs: np.ndarray
    J_regressor: np.ndarray
    weights: np.ndarray
    kintree_table: np.ndarray
    f: np.ndarray
    vt: np.ndarray | None = None
    ft: np.ndarray | None = None
    # Extra named joints picked as vertices (nose, eyes, ears, toes, heels, ...): name -> vertex index.
    extra_vertex_ids: dict = field(default_factory=dict)
    name: str = "smpl"
    gender: str = "neutral"
    # JSON-able facts about how the model was made (the open body's build stamp, regressor error, ...).
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        f64 = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
        self.v_template = f64(self.v_template)
        self.shapedirs = f64(self.shapedirs)
        self.posedirs = f64(self.posedirs)
        self.J_regressor = f64(self.J_regressor)
        self.weights = f64(self.weights)
        self.kintree_table = np.asarray(self.kintree_table).astype(np.int64)
        self.kintree_table[self.kintree_table > NUM_JOINTS] = -1  # SMPL stores the root's parent as 2**32-1
        self.f = np.ascontiguousarray(self.f, dtype=np.int64)
        if self.vt is not None:
            self.vt = f64(self.vt)
        if self.ft is not None:
            self.ft = np.ascontiguousarray(self.ft, dtype=np.int64)
        self.validate()

    @property
    def num_vertices(self) -> int:
        return self.v_template.shape[0]

    @property
    def num_betas(self) -> int:
        return self.shapedirs.shape[2]

    @property
    def parents(self) -> np.ndarray:
        return self.kintree_table[0]

    @property
    def joint_names(self) -> tuple:
        """The 24 SMPL joints, then the named extras in insertion order."""
        return SMPL_JOINT_NAMES + tuple(self.extra_vertex_ids)

    def padded_betas(self, betas=None) -> np.ndarray:
        """betas [K'] (K' ≤ K) → [K] float64, the missing ones 0; BadInputError when K' > K."""
        b = np.zeros(self.num_betas)
        if betas is not None:
            given = np.asarray(betas, dtype=np.float64).reshape(-1)
            if len(given) > self.num_betas:
                raise BadInputError(f"{len(given)} shape parameters given; the body model '{self.name}' has "
                                    f"{self.num_betas}")
            b[: len(given)] = given
        return b

    def shaped(self, betas=None):
        """(vertices [V,3], rest joints [24,3]) of the rest body shaped by betas [K'] (see padded_betas), float64."""
        v = self.v_template + self.shapedirs @ self.padded_betas(betas)
        return v, self.J_regressor @ v

    @property
    def has_pose_correctives(self) -> bool:
        return bool(np.any(self.posedirs))  # no temporary mask of the 8.5 M entries

    def validate(self) -> None:
        v = self.v_template.shape[0] if self.v_template.ndim == 2 else -1
        expected = {
            "v_template": (v, 3),
            "shapedirs": (v, 3, None),
            "posedirs": (v, 3, NUM_POSE_CORRECTIVES),
            "J_regressor": (NUM_JOINTS, v),
            "weights": (v, NUM_JOINTS),
            "kintree_table": (2, NUM_JOINTS),
            "f": (None, 3),
        }
        for key, shape in expected.items():
            arr = getattr(self, key)
            ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape))
            if not ok or v <= 0:
                want = "x".join("K" if s is None else str(s) for s in shape)
                raise ModelFileError(
                    f"{self.name}: '{key}' has shape {tuple(arr.shape)}, an SMPL body model needs {want}"
                )
        if self.f.shape[0] == 0:
            raise ModelFileError(f"{self.name}: the model has no faces ('f' is empty); an SMPL body model needs its "
                                 "triangles")
        for key in ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "vt"):
            if getattr(self, key) is not None:
                check_finite(f"'{key}'", getattr(self, key), error=ModelFileError, what=f"{self.name}: ",
                             advice="the model file is damaged: download or export it again")
        if tuple(self.parents) != SMPL_PARENTS:
            raise ModelFileError(f"{self.name}: its kinematic tree is not SMPL's 24-joint tree")
        if self.f.min() < 0 or self.f.max() >= v:
            raise ModelFileError(f"{self.name}: face indices fall outside the {v} vertices")
        for key, vid in self.extra_vertex_ids.items():
            if not isinstance(vid, (int, np.integer)) or not 0 <= int(vid) < v:
                raise ModelFileError(f"{self.name}: extra joint {key!r} names vertex {vid}, outside 0..{v - 1}")

    def to_smpl_dict(self) -> dict:
        """The arrays under SMPL's keys (what .npz / plain-numpy .pkl files hold)."""
        out = {k: getattr(self, k) for k in
               ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")}
        kt = out["kintree_table"].copy()
        kt[kt < 0] = 2**32 - 1  # as SMPL writes it; smplx reads this layout
        out["kintree_table"] = kt
        if self.vt is not None:
            out["vt"], out["ft"] = self.vt, self.ft
        return out


@dataclass
class BodyOutput:
    """Result of `BodyModel.forward` (torch tensors, B = batch).

    vertices [B,V,3]; joints [B,24+E,3] (the 24 posed joints, then the E named extras); rest_joints [B,24,3]
    (joints of the shaped body in its rest pose, no translation); rot_mats [B,24,3,3] (local rotations);
    transforms [B,24,4,4] (world transforms of the joints relative to the rest pose, as LBS applies them).
    """

    vertices: object
    joints: object
    rest_joints: object
    rot_mats: object


def _torch_module():
    import torch

    return torch


class BodyModel:
    """A batched, differentiable SMPL-format body on one device (float32 by default).

    forward(pose [B,24,3] axis-angle or [B,24,3,3] matrices, betas [B,K'] (K' ≤ K; missing ones are 0),
    transl [B,3]) → BodyOutput. The skinning is smplx's linear blend skinning (`smplx.lbs.lbs`).
    """

    def __init__(self, data: BodyModelData, device="cpu", dtype=None):
        torch = _torch_module()
        self.data = data
        self.dtype = dtype or torch.float32
        self.device = torch.device(device)
        t = lambda a: torch.as_tensor(a, dtype=self.dtype, device=self.device)  # noqa: E731
        self.v_template = t(data.v_template)
        self.shapedirs = t(data.shapedirs)
        # smplx keeps posedirs as [P, V*3]
        if data.has_pose_correctives:
            self.posedirs = t(data.posedirs.reshape(-1, NUM_POSE_CORRECTIVES).T.copy())
        else:  # all zero (the open body): skip converting tens of MB of zeros (a tenth of a second on load)
            self.posedirs = torch.zeros(NUM_POSE_CORRECTIVES, data.posedirs.size // NUM_POSE_CORRECTIVES,
                                        dtype=self.dtype, device=self.device)
        self.J_regressor = t(data.J_regressor)
        self.weights = t(data.weights)
        self.parents = torch.as_tensor(data.parents, dtype=torch.long, device=self.device)
        self.faces = torch.as_tensor(data.f, dtype=torch.long, device=self.device)
        self.extra_ids = torch.as_tensor(list(data.extra_vertex_ids.values()), dtype=torch.long,
                                         device=self.device)

    # Plain attributes for callers that do not want to reach into .data
    @property
    def num_betas(self) -> int:
        return self.data.num_betas

    @property
    def joint_names(self) -> tuple:
        return self.data.joint_names

    @property
    def num_vertices(self) -> int:
        return self.data.num_vertices

    def to(self, device) -> "BodyModel":
        return BodyModel(self.data, device=device, dtype=self.dtype)

    def _batch(self, pose, betas, transl):
        torch = _torch_module()
        as_t = lambda a: torch.as_tensor(a, dtype=self.dtype, device=self.device)  # noqa: E731
        pose = as_t(pose)
        if pose.ndim == 2 and pose.shape[-1] == NUM_JOINTS * 3:
            pose = pose.reshape(-1, NUM_JOINTS, 3)
        if pose.ndim not in (3, 4) or pose.shape[1] != NUM_JOINTS or pose.shape[2:] not in ((3,), (3, 3)):
            raise BadInputError(f"pose must be [B,24,3] axis-angle or [B,24,3,3] matrices, got {tuple(pose.shape)}")
        b = pose.shape[0]
        betas = as_t([] if betas is None else betas)
        betas = betas.reshape(b, -1) if betas.numel() else betas.new_zeros(b, 0)
        k = betas.shape[1]
        if k > self.num_betas:
            raise BadInputError(f"{k} shape parameters given; this body model has {self.num_betas}")
        if k < self.num_betas:
            betas = torch.cat([betas, betas.new_zeros(b, self.num_betas - k)], dim=1)
        transl = betas.new_zeros(b, 3) if transl is None else as_t(transl).reshape(b, 3)
        return pose, betas, transl

    def forward(self, pose, betas=None, transl=None) -> BodyOutput:
        from smplx.lbs import blend_shapes, lbs, vertices2joints

        from ..rotations import axis_angle_to_matrix

        torch = _torch_module()
        pose, betas, transl = self._batch(pose, betas, transl)
        rot = pose if pose.ndim == 4 else axis_angle_to_matrix(pose)
        verts, joints = lbs(betas, rot, self.v_template, self.shapedirs, self.posedirs, self.J_regressor,
                            self.parents, self.weights, pose2rot=False)
        rest_joints = vertices2joints(self.J_regressor, self.v_template + blend_shapes(betas, self.shapedirs))
        verts = verts + transl[:, None]
        joints = joints + transl[:, None]
        if self.extra_ids.numel():
            joints = torch.cat([joints, verts[:, self.extra_ids]], dim=1)
        return BodyOutput(vertices=verts, joints=joints, rest_joints=rest_joints, rot_mats=rot)

    __call__ = forward
