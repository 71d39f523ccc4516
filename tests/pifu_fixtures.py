"""Shared by the PIFu binding tests (unit and blender tiers): a photo camera, a fake PIFu crop, a fake fit."""

from __future__ import annotations

import numpy as np

CAMERA = {"fx": 1100.0, "fy": 1080.0, "cx": 330.0, "cy": 470.0, "width": 640, "height": 960}


def fake_crop(origin=(10.0, 40.0), side=900.0):
    from inference.pifu.crop import Crop

    return Crop(image=np.zeros((3, 4, 4), np.float32), mask=np.zeros((4, 4), np.float32),
                origin=origin, side=side)


def fake_fit(joints_cam, camera=CAMERA):
    from inference.results import BodyFit

    return BodyFit(pose=np.zeros((24, 3)), betas=np.zeros(10), transl=np.zeros(3), camera=dict(camera),
                   joints3d=np.asarray(joints_cam, float), keypoints2d=np.zeros((33, 3)), rest_pelvis=np.zeros(3))
