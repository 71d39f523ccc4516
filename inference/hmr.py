"""HMR, as SPIN released it in PyTorch: photo crop → SMPL pose, shape and camera (facts: shared MODELS.md).

- `load_hmr(checkpoint, device)`: a user's checkpoint (SPIN's dict or a raw state dict), safe loading
  (`weights_only=True`), strict key and shape checks, cached by (path, mtime, device).
- Pre-processing as SPIN's: `box_from_keypoints`, `crop_for_hmr`.
- `crop_cam_to_full`: the crop's weak-perspective camera → a translation for the whole photo's camera.
- `regress` / `regress_many`: detection keypoints in, `HMRResult` (camera frame) out.

Frames: the crop camera and the full camera are OpenCV cameras (x right, y down, z forward) with the same
orientation, so the pose HMR predicts is already in the camera frame of `inference.results.BodyFit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .camera import default_focal
from .errors import BadInputError, ModelFileError

CROP_SIZE = 224
BOX_RESCALE = 1.2
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
NUM_ITERATIONS = 3
# Autocast (float16) on CUDA only when tests/unit/test_hmr.py::test_cuda_autocast_within_tolerance measured it
# within 1e-3 of float32 on the golden vectors. Not measured yet (no GPU lent): off. CPU is always float32.
CUDA_AUTOCAST = False



def _network_class():
    """Build the nn.Module class lazily so that importing this module does not import torch."""
    global _HMRNet
    if _HMRNet is not None:
        return _HMRNet
    import torch
    from torch import nn

    from .resnet import ResNet50Features
    from .rotations import rot6d_to_matrix

    class HMRNet(ResNet50Features):
        """SPIN's HMR: ResNet-50 features + iterative regressor (3 error-feedback steps) of 6D pose, betas, cam.

        forward(x [B,3,224,224] ImageNet-normalised) → dict(rotmat [B,24,3,3], betas [B,10], cam [B,3],
        pose6d [B,144]).
        """

        def __init__(self, mean_params: dict | None = None):
            super().__init__()
            npose = 24 * 6
            self.fc1 = nn.Linear(2048 + npose + 10 + 3, 1024)
            self.drop1 = nn.Dropout()
            self.fc2 = nn.Linear(1024, 1024)
            self.drop2 = nn.Dropout()
            self.decpose = nn.Linear(1024, npose)
            self.decshape = nn.Linear(1024, 10)
            self.deccam = nn.Linear(1024, 3)
            mp = mean_params or {}
            self.register_buffer("init_pose", torch.as_tensor(mp.get("pose", np.zeros(npose)), dtype=torch.float32).reshape(1, npose))
            self.register_buffer("init_shape", torch.as_tensor(mp.get("shape", np.zeros(10)), dtype=torch.float32).reshape(1, 10))
            self.register_buffer("init_cam", torch.as_tensor(mp.get("cam", np.zeros(3)), dtype=torch.float32).reshape(1, 3))
            self.autocast = False

        def forward(self, x: torch.Tensor) -> dict:
            with torch.autocast(x.device.type, dtype=torch.float16, enabled=self.autocast and x.is_cuda):
                feats = self.features(x)
                b = feats.shape[0]
                pose, shape, cam = (self.init_pose.expand(b, -1), self.init_shape.expand(b, -1),
                                    self.init_cam.expand(b, -1))
                for _ in range(NUM_ITERATIONS):
                    xc = torch.cat([feats, pose, shape, cam], 1)
                    xc = self.drop2(self.fc2(self.drop1(self.fc1(xc))))  # no activation: as SPIN's port
                    pose = pose + self.decpose(xc)
                    shape = shape + self.decshape(xc)
                    cam = cam + self.deccam(xc)
            pose, shape, cam = pose.float(), shape.float(), cam.float()
            rotmat = rot6d_to_matrix(pose.reshape(b, 24, 6))
            return {"rotmat": rotmat, "betas": shape, "cam": cam, "pose6d": pose}

    _HMRNet = HMRNet
    return HMRNet


_HMRNet = None


def HMR(mean_params: dict | None = None):
    """A fresh, randomly initialised HMR network (mean_params: {"pose" (144,), "shape" (10,), "cam" (3,)})."""
    return _network_class()(mean_params)


@dataclass
class HMRResult:
    """One person: pose [24,3] axis-angle (joint 0 = orientation in the CAMERA frame), betas [10],
    transl [3] metres (camera frame, for the full photo's camera), focal (px) of that camera."""

    pose: np.ndarray
    betas: np.ndarray
    transl: np.ndarray
    focal: float


# ---------------------------------------------------------------------------------------------- loading


def load_hmr(checkpoint, device="auto"):
    """Load an HMR checkpoint → the network in eval mode on `device` (inference.checkpoints: safe, strict, one
    locked and bounded cache by path, mtime and device).

    Accepts SPIN's `model_checkpoint.pt` (a dict whose "model" is the state dict) or a raw state dict.
    Raises ModelFileError for a missing/unreadable/unsafe file or keys and shapes that do not match.
    """
    import torch

    from .checkpoints import cached_network, load_strict, read_state_dict
    from .device import resolve_device

    dev = resolve_device(device) if not isinstance(device, torch.device) else device
    path = Path(checkpoint).expanduser()
    if not path.is_file():
        raise ModelFileError(f"HMR checkpoint not found: {path}. Choose SPIN's model_checkpoint.pt.")

    def build(p):
        state = read_state_dict(p, "HMR", "Expected SPIN's model_checkpoint.pt or a state dict.", wrappers=("model",))
        return load_strict(HMR(), state, p, "SPIN HMR checkpoint")

    net = cached_network("hmr", path, dev, build)
    net.autocast = CUDA_AUTOCAST and dev.type == "cuda"
    return net


# ------------------------------------------------------------------------------------------ pre-processing


def box_from_keypoints(kp2d, min_visibility: float = 0.5) -> tuple[np.ndarray, float]:
    """kp2d [K,3] (x px, y px, visibility) → (center [2] px, scale) as SPIN: the crop side is 200*scale px.

    centre = mean of confident keypoints, scale = 1.2 * max(x extent, y extent) / 200. Falls back to all
    finite keypoints when fewer than two are confident.
    """
    kp = np.asarray(kp2d, dtype=np.float64)
    if kp.ndim != 2 or kp.shape[1] < 2:
        raise BadInputError(f"keypoints must be [K,3] (x, y, visibility), got shape {kp.shape}.")
    finite = np.isfinite(kp[:, :2]).all(1)
    ok = finite & (kp[:, 2] >= min_visibility) if kp.shape[1] > 2 else finite
    if ok.sum() < 2:
        ok = finite
    if ok.sum() < 2:
        raise BadInputError("too few keypoints to place a crop around the person.")
    pts = kp[ok, :2]
    center = pts.mean(0)
    extent = float((pts.max(0) - pts.min(0)).max())
    return center.astype(np.float32), max(BOX_RESCALE * extent / 200.0, 1e-3)


def crop_matrix(center, scale: float) -> np.ndarray:
    """The 2x3 affine map full-image px → crop px: u = (x - cx) * 224/(200*scale) + 112."""
    s = CROP_SIZE / (200.0 * float(scale))
    cx, cy = float(center[0]), float(center[1])
    half = CROP_SIZE / 2
    return np.array([[s, 0.0, half - s * cx], [0.0, s, half - s * cy]])


def crop_for_hmr(rgb: np.ndarray, center, scale: float):
    """(H,W,3) uint8 → torch float32 [3,224,224]: the square crop of side 200*scale around `center`, zero
    outside the image, /255, ImageNet mean/std (as SPIN's `process_image`)."""
    import cv2
    import torch

    crop = cv2.warpAffine(
        np.ascontiguousarray(rgb), crop_matrix(center, scale), (CROP_SIZE, CROP_SIZE),
        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0),
    )
    x = crop.astype(np.float32) / 255.0
    x = (x - np.asarray(IMAGENET_MEAN, np.float32)) / np.asarray(IMAGENET_STD, np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


# ------------------------------------------------------------------------------------------------ camera


def crop_cam_to_full(cam, center, scale, image_size, focal_full):
    """Weak-perspective crop camera cam [B,3] = (s, tx, ty) → translation [B,3] for the full photo's camera.

    Crop: u_c = 112 + 112*s*(X + tx) (SPIN; = perspective with f=5000 px and t_z = 2*5000/(224*s)).
    Full camera: focal `focal_full`, principal point (W/2, H/2). A crop pixel u_c is the full pixel
    x = cx + (u_c - 112) * b/224 with b = 200*scale, so the body appears at b*s/2 px per metre around
    (cx + b*s*tx/2). The full camera shows the body's root plane (Z = 0) identically when
      t_z = 2*focal_full / (b*s),   t_x = tx + 2*(cx - W/2)/(b*s),   t_y = ty + 2*(cy - H/2)/(b*s).
    Points off that plane differ only by perspective (exactly equal when focal_full = 5000*b/224).
    `center` [2] or [B,2], `scale` scalar or [B]; works on numpy arrays or torch tensors (returns the same).
    """
    is_torch = type(cam).__module__.startswith("torch")
    lib = __import__("torch") if is_torch else np
    c = cam if is_torch else np.asarray(cam, dtype=np.float64)
    like = (lambda v: lib.as_tensor(v, dtype=c.dtype, device=c.device)) if is_torch else (lambda v: np.asarray(v, np.float64))
    center, scale, focal_full = like(center), like(scale), like(focal_full)
    center = center.reshape(-1, 2)
    b = 200.0 * scale.reshape(-1)
    w, h = float(image_size[0]), float(image_size[1])
    s, tx, ty = c[:, 0], c[:, 1], c[:, 2]
    bs = b * s
    # Guard against a degenerate (zero or negative) scale from a bad regression.
    bs = lib.clamp(bs, min=1e-9) if is_torch else np.maximum(bs, 1e-9)
    tz = 2.0 * focal_full.reshape(-1) / bs
    tx_full = tx + 2.0 * (center[:, 0] - w / 2.0) / bs
    ty_full = ty + 2.0 * (center[:, 1] - h / 2.0) / bs
    return lib.stack([tx_full, ty_full, tz], -1)


# ------------------------------------------------------------------------------------------------ regress


def regress(image_rgb: np.ndarray, keypoints2d, checkpoint, device="auto", focal: float | None = None) -> HMRResult:
    """One photo (H,W,3 uint8) and its detection keypoints [33,3] → HMRResult in the photo's camera frame.

    focal: the photo's focal length in px (EXIF); None → `default_focal`.
    """
    return regress_many([image_rgb], [keypoints2d], checkpoint, device=device, focal=focal)[0]


def regress_many(images, keypoints2d, checkpoint, device="auto", focal=None, batch_size: int = 16) -> list[HMRResult]:
    """Many crops at once: images (a list of (H,W,3) uint8, or one image used for every keypoint set),
    keypoints2d [N,33,3] → N HMRResults, run through the network in batches of `batch_size`.

    focal: a float for all, a list of N floats, or None (each image's `default_focal`).
    """
    import torch

    from .rotations import matrix_to_axis_angle

    kps = [np.asarray(k, dtype=np.float64) for k in keypoints2d]
    imgs = list(images) if isinstance(images, (list, tuple)) else [images]
    if len(imgs) == 1 and len(kps) > 1:
        imgs = imgs * len(kps)
    if len(imgs) != len(kps):
        raise BadInputError(f"{len(imgs)} images but {len(kps)} keypoint sets: give one keypoint set per image.")
    focals = focal if isinstance(focal, (list, tuple, np.ndarray)) else [focal] * len(kps)
    net = load_hmr(checkpoint, device)
    dev = next(net.parameters()).device
    results: list[HMRResult] = []
    for start in range(0, len(kps), batch_size):
        idx = range(start, min(start + batch_size, len(kps)))
        boxes = [box_from_keypoints(kps[i]) for i in idx]
        x = torch.stack([crop_for_hmr(imgs[i], c, s) for i, (c, s) in zip(idx, boxes)]).to(dev)
        with torch.inference_mode():
            out = net(x)
        rotmat = out["rotmat"].double().cpu()
        cam = out["cam"].double().cpu()
        pose = matrix_to_axis_angle(rotmat).numpy()
        for j, i in enumerate(idx):
            h, w = imgs[i].shape[:2]
            f = float(focals[i]) if focals[i] else default_focal(w, h)
            c, s = boxes[j]
            t = crop_cam_to_full(cam[j : j + 1].numpy(), c, s, (w, h), f)[0]
            results.append(HMRResult(pose=pose[j].astype(np.float32), betas=out["betas"][j].float().cpu().numpy(),
                                     transl=t.astype(np.float32), focal=f))
    return results
