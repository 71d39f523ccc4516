"""BodyRig's inference package: photos and videos → SMPL bodies, with no Blender dependency.

May import: torch, numpy, scipy, opencv, mediapipe, smplx, anny, scikit-image. Never bpy or mathutils.
Runs in any Python 3.11; `python -m inference --help` lists the command-line tools. Heavy modules (torch,
mediapipe) are imported inside the functions that need them so that importing this package stays cheap.

Where each job lives:
- wiring the stages for a use case (photo → fit, video → motion, motion file → world motion, photo → clothed
  mesh), from one frozen Settings: `pipeline/` (every front end calls it; nothing else wires stages)
- frames, axes, the body → Blender turn, frame-rate rationals: `conventions.py`; the pinhole camera: `camera.py`
- reading photos and videos: `images.py`, `frames.py`; finding and following the person: `detect.py`, `track.py`
  (`detect_ahead.py`: the fit CLI's detection in a forked child)
- the fit: `fit.py` (one photo), `sequence_fit.py` (a run of video frames; `chunk_fitter.py` runs a video's
  chunks in a worker process beside the tracker), `init_pose.py`, `keypoint_map.py`;
  HMR regression: `hmr.py` (+ `resnet.py`); video post-processing (gaps, smoothing, floor, feet): `temporal.py`
  (which foot is planted, read from the pose: `stance.py`)
- a video's camera: its turns from the background `camera_motion.py`, the path `camera.py` (CameraPath); the
  grounded, gravity-aligned world of a video's bodies: `world_frame.py`
- body models: `body/` (loading and caching, the open body and its cache file `body/open_body_cache.py`, SMPL
  files, forward kinematics in `body/kinematics.py`)
- results and their files: `results.py` (BodyFit, MotionFit), `motion_io.py` (.npz/.smpl), `fileio.py`
  (verified atomic writes: every output is checked complete on disk before it gets its name)
- looking at a motion: `preview.py` (the body over the video and from the side, a PNG sheet / mp4; the CLI's
  `preview`), drawn by the numpy rasteriser `raster.py`
- PIFu's clothed mesh: `pifu/`; device choice: `device.py`; errors: `errors.py`; the CLI table: `cli.py`
- scene building (bpy) is not here: `operators/` (its `settings.py` turns operator + preferences into Settings).
"""

__version__ = "0.1.0"
