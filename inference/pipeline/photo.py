"""Photo → fit: load, detect, optional HMR regression, SMPLify-style fit (the one wiring of these stages)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .settings import Settings


@dataclass(frozen=True)
class PhotoFit:
    """fit: inference.results.BodyFit (camera frame); body: the BodyModelData it was fitted with; detection:
    the inference.detect Detection the fit used (its keypoints are fit.keypoints2d)."""

    fit: object
    body: object
    detection: object


def fit_photo(image, settings: Settings = Settings(), progress=None, detection=None) -> PhotoFit:
    """Fit the body model to the most prominent person in one photo.

    image: a path, the bytes of an image file, or an inference.images.Image. detection: None (detect here), or
    a pending detection of this image (inference.detect_ahead.DetectAhead: waited for after the body is loaded,
    so that the two overlap). progress: optional
    callable(done, total, stage) (inference.progress), here in 100 steps. HMR betas initialise the fit only for SMPL model files (for the open and tiny
    bodies they mean nothing), whether the body came as a path or as loaded data.
    Camera: focal length from EXIF, else the one that best explains the world landmarks' 3D shape against the
    2D keypoints (inference.focal); principal point at the centre.
    Raises BadInputError, NoPersonError, ModelFileError, DeviceError.
    """
    from ..body.kinematics import motion_joints
    from ..body.load import body_label, body_model, load_body, speaks_smpl_shape
    from ..camera import PinholeCamera
    from ..detect import MIRRORED_START, detect_person
    from ..device import resolve_device
    from ..fit import FitOptions, fit_keypoints
    from ..focal import focal_from_landmarks
    from ..images import Image, load_image
    from ..progress import silent, span
    from ..results import BodyFit

    report = progress or silent
    timings = {}
    t0 = time.perf_counter()
    report(0, 100, "reading the photo")
    img = image if isinstance(image, Image) else load_image(image)
    timings["load"] = time.perf_counter() - t0

    if detection is None:
        t0 = time.perf_counter()
        report(5, 100, "finding the person")
        det = detect_person(img.rgb, img.name, pose_model=settings.pose_model, mirror_3d=MIRRORED_START)
        timings["detect"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    dev = resolve_device(settings.device)
    data = load_body(settings.body)
    model = body_model(data, dev)
    timings["body"] = time.perf_counter() - t0

    if detection is not None:
        report(5, 100, "finding the person")
        det = detection.result()
        timings["detect"] = detection.seconds

    h, w = img.rgb.shape[:2]
    kp = np.asarray(det.keypoints2d, dtype=np.float64)
    world = np.asarray(det.world_landmarks, dtype=np.float64)
    focal = float(img.exif_focal_px) if img.exif_focal_px else focal_from_landmarks(kp, world, w, h)
    camera = PinholeCamera(fx=focal, fy=focal, cx=w / 2.0, cy=h / 2.0, width=float(w), height=float(h))

    t0 = time.perf_counter()
    init, options = {}, None
    if settings.checkpoint:
        from ..hmr import regress

        report(20, 100, "regressing the pose (HMR)")
        r = regress(img.rgb, kp, settings.checkpoint, device=dev, focal=focal)
        init = {"init_pose": r.pose[None], "init_transl": r.transl[None]}
        if speaks_smpl_shape(data) and data.num_betas >= len(r.betas):
            init["init_betas"] = r.betas[None]
        options = FitOptions(w_init=0.01)
    timings["regress"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    report(30, 100, "fitting the body")
    # the starting pose from the world landmarks, averaged with the mirrored image's when detect.MIRRORED_START;
    # the 3D term, the 2D keypoints and the focal estimate keep the plain pass's (the mirrored landmarks in the
    # 3D term too moved a COCO keypoint across the PCK threshold)
    start = world if det.world_mirrored is None else np.asarray(det.world_mirrored, dtype=np.float64)
    res = fit_keypoints(model, kp[None], camera.intrinsics()[None], world=world[None], world_init=start[None],
                        options=options, image_size=(w, h),
                        progress=span(report, 30, 95, 100, "fitting the body"), **init)
    # the 24 joints only: the skeleton's kinematics, not the whole mesh (a tenth of a second on a small CPU)
    joints3d = motion_joints(model, res.pose, res.betas[0], res.transl)[0]
    rest_pelvis = data.shaped(res.betas[0])[1][0]
    notes = list(img.notes) + list(getattr(det, "notes", []) or [])
    if res.swapped is not None and res.swapped[0]:  # the keypoints kept with the fit get the names it used
        from ..keypoint_map import LEFT_RIGHT_SWAP

        kp = kp[list(LEFT_RIGHT_SWAP)]
        notes.append("seen from behind by the detector; fitted facing the camera, its left and right exchanged")
    timings["fit"] = time.perf_counter() - t0
    report(100, 100, "done")

    fit = BodyFit(
        pose=res.pose[0], betas=res.betas[0], transl=res.transl[0], camera=camera.as_dict(),
        joints3d=joints3d, keypoints2d=kp, rest_pelvis=rest_pelvis, body_model=body_label(settings.body),
        timings=timings, image=str(img.path) if img.path is not None else None,
        notes=notes,
    )
    return PhotoFit(fit=fit, body=data, detection=det)
