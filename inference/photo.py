"""Photo → SMPL body: `fit_image` (load, detect, optional HMR regression, SMPLify-style fit) and the `fit` CLI.

`python -m inference fit IMAGE --out OUT.json [--checkpoint CKPT] [--body PATH] [--device auto|cpu|cuda]`
writes a BodyFit as JSON (camera frame; see inference.results). Bad input, no person or an unusable
checkpoint exit 2 with one line on stderr.
"""

from __future__ import annotations

import time

import numpy as np

from .mediapipe_pose import DEFAULT_POSE_MODEL


def fit_image(image, body=None, checkpoint=None, device="auto", progress=None, pose_model=DEFAULT_POSE_MODEL):
    """Fit the body model to the most prominent person in one photo → inference.results.BodyFit.

    image: a path, the bytes of an image file, or an inference.images.Image. body: None/"open", "tiny", a
    model file path or a BodyModelData. checkpoint: an HMR checkpoint (its pose initialises the fit; its betas
    only for SMPL files, since they mean nothing for other bodies) or None (analytic IK from the 3D landmarks).
    device: "auto" | "cpu" | "cuda". progress: optional callable(fraction, message). pose_model: the keypoint
    model, "full" or "heavy" (inference.mediapipe_pose.POSE_MODELS).
    Camera: focal length from EXIF, else the image diagonal (53° diagonal FOV); principal point at the centre.
    Raises BadInputError, NoPersonError, ModelFileError, DeviceError.
    """
    from .body.load import body_label, body_model, load_body
    from .detect import detect_person
    from .device import resolve_device
    from .fit import default_focal, fit_keypoints
    from .images import Image, load_image
    from .results import BodyFit

    report = progress or (lambda *_: None)
    timings = {}
    t0 = time.perf_counter()
    report(0.0, "reading the photo")
    img = image if isinstance(image, Image) else load_image(image)
    timings["load"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    report(0.05, "finding the person")
    det = detect_person(img.rgb, img.name, pose_model=pose_model)
    timings["detect"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    dev = resolve_device(device)
    data = load_body(body)
    model = body_model(data, dev)
    timings["body"] = time.perf_counter() - t0

    h, w = img.rgb.shape[:2]
    focal = float(img.exif_focal_px) if img.exif_focal_px else default_focal(w, h)
    cam = np.array([[focal, focal, w / 2.0, h / 2.0]])
    kp = np.asarray(det.keypoints2d, dtype=np.float64)
    world = np.asarray(det.world_landmarks, dtype=np.float64)

    t0 = time.perf_counter()
    init = {}
    if checkpoint:
        from .hmr import regress

        report(0.2, "regressing the pose (HMR)")
        r = regress(img.rgb, kp, checkpoint, device=dev, focal=focal)
        init = {"init_pose": r.pose[None], "init_transl": r.transl[None]}
        if isinstance(body, str) and body not in ("open", "tiny") and data.num_betas >= len(r.betas):
            init["init_betas"] = r.betas[None]
    timings["regress"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    report(0.3, "fitting the body")
    options = None
    if checkpoint:
        from .fit import FitOptions

        options = FitOptions(w_init=0.01)
    res = fit_keypoints(model, kp[None], cam, world=world[None], options=options,
                        progress=lambda f: report(0.3 + 0.65 * f, "fitting the body"), **init)
    out = model(res.pose, res.betas, res.transl)
    joints3d = out.joints[0, :24].detach().double().cpu().numpy()
    rest_pelvis = out.rest_joints[0, 0].detach().double().cpu().numpy()
    timings["fit"] = time.perf_counter() - t0
    report(1.0, "done")

    return BodyFit(
        pose=res.pose[0], betas=res.betas[0], transl=res.transl[0],
        camera={"fx": focal, "fy": focal, "cx": w / 2.0, "cy": h / 2.0, "width": float(w), "height": float(h)},
        joints3d=joints3d, keypoints2d=kp, rest_pelvis=rest_pelvis, body_model=body_label(body),
        timings=timings, image=str(img.path) if img.path is not None else None,
        notes=list(getattr(det, "notes", []) or []),
    )


# ------------------------------------------------------------------------------------------------- CLI


def add_arguments(parser) -> None:
    parser.add_argument("image", help="the photo (JPEG, PNG, ...)")
    parser.add_argument("--out", required=True, help="the JSON file to write (BodyFit, camera frame)")
    parser.add_argument("--checkpoint", default=None, help="HMR checkpoint (SPIN's model_checkpoint.pt)")
    parser.add_argument("--body", default=None, help="'open' (default), 'tiny' or an SMPL .pkl/.npz file")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    add_pose_model_argument(parser)


def add_pose_model_argument(parser) -> None:
    """The --pose-model option of the fit and video commands."""
    from .mediapipe_pose import POSE_MODELS

    parser.add_argument("--pose-model", default=DEFAULT_POSE_MODEL, choices=POSE_MODELS,
                        help=f"keypoint model (default {DEFAULT_POSE_MODEL}; heavy: slower, see bench/RESULTS.md)")


def run(args) -> int:
    import sys

    fit = fit_image(args.image, body=args.body, checkpoint=args.checkpoint, device=args.device,
                    pose_model=args.pose_model)
    fit.save_json(args.out)
    t = ", ".join(f"{k} {v:.2f}s" for k, v in fit.timings.items())
    print(f"wrote {args.out} ({fit.body_model} body; {t})", file=sys.stderr)
    return 0
