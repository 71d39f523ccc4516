"""Video → motion, and motion file → world motion (the one wiring of these stages)."""

from __future__ import annotations

from dataclasses import dataclass

from .settings import Settings


@dataclass(frozen=True)
class MotionResult:
    """motion: inference.results.MotionFit in the WORLD frame; body: the BodyModelData it belongs to (None when
    the motion goes onto an existing character, whose own shape it keeps)."""

    motion: object
    body: object


def video_motion(path, settings: Settings = Settings(), progress=None, timings: dict | None = None) -> MotionResult:
    """Fit one person through a video (inference.video.fit_video with the settings' body, checkpoint, device and
    video options). progress: callable(frames done, frames total, stage) (inference.progress). timings: a dict filled with seconds per stage.
    Raises what fit_video raises (VideoStopped, VideoInterrupted carry the frames fitted so far).
    """
    from ..body.load import load_body
    from ..video import fit_video

    data = load_body(settings.body)
    motion = fit_video(path, body=data, checkpoint=settings.checkpoint, device=settings.device,
                       start=settings.start, end=settings.end, stride=settings.stride, smooth=settings.smooth,
                       person=settings.person, pose_model=settings.pose_model, progress=progress, timings=timings)
    motion.body_model = _label(settings)
    return MotionResult(motion=motion, body=data)


def world_motion(path, settings: Settings = Settings(), rest_pelvis=None) -> MotionResult:
    """A motion file (.npz / .smpl, inference.motion_io) in the world frame.

    rest_pelvis None: the motion builds a new character of the settings' body (its rest pelvis for the motion's
    own betas re-frames AMASS Z-up files); rest_pelvis [3]: the motion goes onto an existing character with that
    rest pelvis (body frame), and no body is loaded.
    """
    from ..motion_io import amass_to_world, load_motion

    motion = load_motion(path)
    data = None
    if rest_pelvis is None:
        from ..body.load import load_body

        data = load_body(settings.body)
        if motion.metadata.get("frame") == "amass_z_up":
            rest_pelvis = data.shaped(motion.betas[: data.num_betas])[1][0]  # AMASS may carry 16 betas
    if motion.metadata.get("frame") == "amass_z_up":
        motion = amass_to_world(motion, rest_pelvis)
    return MotionResult(motion=motion, body=data)


def _label(settings: Settings) -> str:
    from ..body.load import body_label

    return body_label(settings.body)
