"""Video → motion: `fit_video` (decode, track one person, batched temporal fit, smooth, ground) and the `video` CLI.

    python -m inference video VIDEO --out OUT.npz [--start S --end E --stride K] [--checkpoint CKPT]
        [--device auto|cpu|cuda] [--smooth 0..1] [--body PATH] [--person K]

Pipeline, streamed so that memory does not grow with the video's length:
1. frames are decoded (inference.frames) and the person is followed (inference.track);
2. as soon as a run of frames is settled (every frame up to the latest detection: its gaps are closed), it is
   fitted in chunks (inference.sequence_fit: temporal terms, warm start from the previous chunk's last frame;
   with an HMR checkpoint its poses initialise the fit); on a CPU with two cores a worker process fits them
   while this one goes on tracking (inference.chunk_fitter);
   Beside the tracker, the camera's turn per frame is measured from the background (inference.camera_motion);
3. at the end: camera → world with those turns, a One-Euro filter of user-set strength, gravity and the floor
   from the feet, depth per frame on that floor, foot sliding removed (inference.world_frame.place_in_world);
   the motion's `camera` is the camera path in that world. The focal length defaults to the image diagonal
   (inference.fit.default_focal). temporal=False keeps the old baseline: a still, level camera, one floor.

Frames: missing frames (person not found) are `detected` False. Gaps of at most `max_gap` seconds between two
detections are filled (`filled` True: fitted with the temporal terms across them). A person lost for longer (a
gap of any length, longer than a chunk too) is never fitted there (inference.sequence_fit.plan_chunks): those
frames stay in the timeline (so time stays uniform) with the pose and path interpolated between the last frame
before and the first after, neither detected nor filled, and the fit restarts afresh where the person is seen
again. Frames before the first and after the last detection (a person found late, or lost for good) are cut
off: metadata["start_time"] gives the first kept frame's time in the video, "unseen_before"/"unseen_after" how
many frames were cut, "long_gaps" how many interior frames were interpolated. A clip where nobody is ever seen
is NoPersonError (exit 2).

Nothing lost: when decoding breaks off (truncated or corrupt file) every frame before the fault is fitted and
`VideoStopped` (exit code 1) carries that motion; on Ctrl-C (or the CLI's SIGTERM, inference.interrupts), even
during the final smoothing, the frames fitted so far come back in
`VideoInterrupted` (a KeyboardInterrupt). The CLI writes the motion in both cases.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from .errors import BodyRigError
from .mediapipe_pose import DEFAULT_POSE_MODEL

from .world_frame import FOOT_JOINTS


class VideoStopped(BodyRigError):
    """Decoding stopped early; `motion` holds every frame before `frame_index` (None if there was none)."""

    exit_code = 1

    def __init__(self, message: str, frame_index: int, motion=None):
        super().__init__(message)
        self.frame_index, self.motion = frame_index, motion


class VideoInterrupted(KeyboardInterrupt):
    """Ctrl-C: `motion` holds the frames fitted before it (None if there were none)."""

    def __init__(self, motion=None, frames_done: int = 0):
        super().__init__("interrupted")
        self.motion, self.frames_done = motion, frames_done


class _Frames:
    """Per-frame records of the tracked person, grown as frames come in (small: no images are kept)."""

    def __init__(self):
        self.index, self.time, self.detected, self.kp, self.world, self.hmr = [], [], [], [], [], []

    def add(self, index, t, obs, hmr=None):
        self.index.append(int(index))
        self.time.append(float(t))
        self.detected.append(obs is not None)
        self.kp.append(obs.keypoints2d if obs is not None else np.zeros((33, 3), np.float32))
        self.world.append(obs.world if obs is not None else np.zeros((33, 3), np.float32))
        self.hmr.append(hmr)

    def __len__(self):
        return len(self.index)


def fit_video(path, body=None, checkpoint=None, device="auto", start: float = 0.0, end: float | None = None,
              stride: int = 1, smooth: float = 0.5, person: int | None = None, focal: float | None = None,
              max_gap: float = 0.5, chunk_size: int = 32, temporal: bool = True, progress=None,
              timings: dict | None = None, pose_model: str = DEFAULT_POSE_MODEL, parallel: bool | None = None):
    """Fit the body model to one person through a video → inference.results.MotionFit (WORLD frame, floor y=0).

    path: a video file or a folder of numbered images. body: None/"open", "tiny", a model file or a
    BodyModelData. checkpoint: an HMR checkpoint or None. start/end (seconds), stride (every K-th frame).
    smooth: One-Euro strength in [0,1] (0 = none). person: None = the largest person at the start, K = the
    K-th from the left. focal: px (default: the image diagonal). max_gap: longest gap filled, seconds.
    temporal=False: per-frame fitting with no temporal terms, filter or foot handling (the baseline).
    progress: callable(frames done, frames total, stage) (inference.progress). timings: a dict filled with seconds
    per stage. pose_model: the keypoint model, "full" or "heavy" (inference.mediapipe_pose.POSE_MODELS).
    parallel: fit the chunks in a worker process beside the tracker (True), in process (False), or where that
    pays and is safe (None: inference.chunk_fitter.worker_usable); the motion is the same either way.
    Raises BadInputError, NoPersonError, ModelFileError, DeviceError; VideoStopped; VideoInterrupted.
    """
    from .body.load import load_body
    from .device import resolve_device
    from .errors import BadInputError, NoPersonError
    from .fit import FitOptions, default_focal
    from .sequence_fit import VIDEO_FRAME_TERMS
    from .frames import FrameReadError, open_frames
    from .body.load import body_label, body_model
    from .track import PersonTracker

    if not 0.0 <= smooth <= 1.0:  # also false for NaN
        raise BadInputError(f"--smooth must be between 0 and 1, got {smooth}")
    for name, value in (("start", start), ("end", end)):
        if value is not None and not (np.isfinite(value) and value >= 0):
            raise BadInputError(f"the {name} time must be a finite number of seconds, at least 0; got {value}")
    if end is not None and end <= start:
        raise BadInputError(f"the end time ({end} s) must be after the start time ({start} s)")
    tm = timings if timings is not None else {}
    for k in ("decode", "detect", "camera", "regress", "fit", "post"):
        tm.setdefault(k, 0.0)
    report = progress or (lambda *_: None)
    src = open_frames(path, until=end)
    info = src.info
    wanted = src.frame_range(start, end, stride)
    fps = info.fps / stride
    dev = resolve_device(device)
    data = load_body(body)
    f_px = float(focal) if focal else default_focal(info.width, info.height)
    cam = np.array([f_px, f_px, info.width / 2.0, info.height / 2.0])
    gap_frames = max(0, int(round(max_gap * fps)))
    fit_opts = FitOptions(**VIDEO_FRAME_TERMS, w_init=0.01 if checkpoint else 0.0)
    from .chunk_fitter import ChunkFitter, worker_usable

    if parallel is None:
        parallel = worker_usable(len(wanted), chunk_size, dev)
    # A worker process fits the chunks beside the tracker (it starts now: its start-up overlaps ours).
    fitter = ChunkFitter(data, dev, cam, fps, fit_opts, temporal, parallel=parallel)
    try:
        model = body_model(data, dev)
        if checkpoint:
            from .hmr import load_hmr

            load_hmr(checkpoint, dev)  # a bad checkpoint fails now, before any work
    except BaseException:
        fitter.close()
        raise

    recs = _Frames()
    fitted = {"pose": [], "transl": [], "betas": None}
    planned = {"upto": 0, "fresh": False}  # frames handed to the fitter; whether the person was lost before them
    stop = None  # (message, frame index) when decoding broke off

    def take_fitted(block: bool):
        """Move the chunks the fitter has finished (in order) into `fitted`; block: wait for all of them."""
        t0 = time.perf_counter()
        for a, b, res in fitter.ready(block):
            while len(fitted["pose"]) < a:  # frames where the person was lost, before this chunk: never fitted
                fitted["pose"].append(None)
                fitted["transl"].append(None)
            fitted["pose"].extend(res.pose)
            fitted["transl"].extend(res.transl)
            fitted["betas"] = res.betas
            report(b, len(wanted), "fit")
        tm["fit"] += time.perf_counter() - t0  # with a worker: only the time spent waiting for it

    def fit_settled(final: bool):
        """Fit the frames whose fate is known: all up to the last detection (all of them when final)."""
        from .sequence_fit import plan_chunks

        for a, b, fit in plan_chunks(recs.detected, planned["upto"], chunk_size, gap_frames, final):
            if fit:
                _submit(a, b)
            else:  # the person is lost here: nothing to fit, and the next sighting starts afresh
                planned["fresh"] = True
            planned["upto"] = b
        take_fitted(block=final)

    def _submit(a, b):
        obs = np.asarray(recs.detected[a:b], bool)
        init_pose = None
        if checkpoint:
            hm = recs.hmr[a:b]
            if all(h is not None for h, o in zip(hm, obs) if o):
                init_pose = np.stack([h.pose if h is not None else np.zeros((24, 3)) for h in hm])
                init_pose[~obs] = 0.0
                from .sequence_fit import interp_known

                init_pose = interp_known(init_pose, obs) if obs.any() else init_pose
        fitter.submit(a, b, np.stack(recs.kp[a:b]), np.stack(recs.world[a:b]), obs, init_pose=init_pose,
                      fresh=planned["fresh"])
        planned["fresh"] = False

    from .camera_motion import CameraTracker

    try:
        tracker = PersonTracker(person=person, pose_model=pose_model)
        camtrack = CameraBeside(CameraTracker(f_px, info.width, info.height), thread=fitter.in_worker)
    except BaseException:
        fitter.close()
        raise

    def notes():
        return tracker.notes + camtrack.notes
    if info.timing:  # a variable rate resampled, or a raw stream's rate assumed: the motion says so
        tracker.notes.append(info.timing)
    try:
        try:
            it = src.chunks(start, end, stride, chunk_size=1)  # frame by frame: a fault loses nothing buffered
            buf = []
            while True:
                t0 = time.perf_counter()
                try:
                    chunk = next(it)
                except StopIteration:
                    tm["decode"] += time.perf_counter() - t0
                    break
                except FrameReadError as exc:
                    tm["decode"] += time.perf_counter() - t0
                    stop = (str(exc), exc.frame_index)
                    break
                tm["decode"] += time.perf_counter() - t0
                t0 = time.perf_counter()
                obs = tracker.step(chunk.frames[0], chunk.times[0])
                tm["detect"] += time.perf_counter() - t0
                t0 = time.perf_counter()
                camtrack.step(chunk.frames[0], obs.box if obs is not None else None)
                tm["camera"] += time.perf_counter() - t0  # beside the tracker: only the time spent waiting
                if fitter.in_worker:
                    take_fitted(block=False)
                buf.append((chunk.indices[0], chunk.times[0], obs, chunk.frames[0] if checkpoint and obs else None))
                if len(buf) >= chunk_size:
                    _flush(buf, recs, checkpoint, dev, f_px, tm)
                    buf = []
                    fit_settled(final=False)
                    report(len(recs), len(wanted), "track")
            _flush(buf, recs, checkpoint, dev, f_px, tm)
            fit_settled(final=True)
            camtrack.wait()
        finally:
            camtrack.close()  # the frame in hand finishes (milliseconds), its error is dropped after another one
            tracker.close()
            fitter.close()  # a worker still running (an error, an interrupt) is killed and reaped
    except KeyboardInterrupt as exc:
        motion = _finish(recs, fitted, fps, gap_frames, smooth, model, data, body, temporal, tm, notes(),
                         info, stride, f_px, camtrack.motion(), partial=_interrupted(exc))
        raise VideoInterrupted(motion, len(fitted["pose"])) from None

    if not any(recs.detected):
        if stop is not None:
            raise VideoStopped(f"{stop[0]}; no person was found before that", stop[1])
        raise NoPersonError(f"no person found in {info.path.name} ({len(recs)} frames looked at)")
    try:
        motion = _finish(recs, fitted, fps, gap_frames, smooth, model, data, body, temporal, tm, notes(),
                         info, stride, f_px, camtrack.motion(), partial=stop[0] if stop else None)
    except KeyboardInterrupt as exc:  # every frame is fitted: finish again (a CLI ignores further signals)
        motion = _finish(recs, fitted, fps, gap_frames, smooth, model, data, body, temporal, tm, notes(),
                         info, stride, f_px, camtrack.motion(), partial=_interrupted(exc))
        raise VideoInterrupted(motion, len(fitted["pose"])) from None
    motion.body_model = body_label(body)
    if stop is not None:
        raise VideoStopped(f"{stop[0]}; kept the {motion.num_frames} frames before it", stop[1], motion)
    return motion


class CameraBeside:
    """A CameraTracker whose steps run on a thread beside the tracker, one frame at a time and in order: a step
    starts when the frame's person is known and runs while the next frame is decoded and tracked. Its work is
    OpenCV's (features, optical flow, RANSAC), which runs without the GIL, so it overlaps MediaPipe's; with the
    fits in a worker process (inference.chunk_fitter) this takes ~7 ms per frame off the tracker's path on a
    2-core CPU (bench/RESULTS.md, "Video speed on a real clip"). thread=False: each step runs in the call.
    The turns are the same either way (the same steps in the same order). An error in a step is raised at the
    next step() or wait()."""

    def __init__(self, tracker, thread: bool):
        self.tracker, self._pending = tracker, None
        self._pool = None
        if thread:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1, thread_name_prefix="bodyrig-camera")

    def step(self, rgb, box) -> None:
        if self._pool is None:
            self.tracker.step(rgb, box)
            return
        self.wait()
        self._pending = self._pool.submit(self.tracker.step, rgb, box)

    def wait(self) -> None:
        """Until the last frame given is measured (its error, if any, raised here)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pending = None

    def motion(self):
        self.wait()
        return self.tracker.motion()

    @property
    def notes(self) -> list[str]:
        return self.tracker.notes


def _interrupted(exc: KeyboardInterrupt) -> str:
    """The motion's `incomplete` note: which signal (inference.interrupts.Interrupted says), else Ctrl-C."""
    return f"interrupted by {exc}" if str(exc) else "interrupted by the user (Ctrl-C)"


def _flush(buf, recs: _Frames, checkpoint, dev, focal, tm):
    """Move buffered frames into the records, regressing the detected ones with HMR (batched) if asked."""
    if not buf:
        return
    hmr = [None] * len(buf)
    if checkpoint:
        from .hmr import regress_many

        t0 = time.perf_counter()
        which = [i for i, b in enumerate(buf) if b[2] is not None]
        if which:
            res = regress_many([buf[i][3] for i in which], [buf[i][2].keypoints2d for i in which], checkpoint,
                               device=dev, focal=focal)
            for i, r in zip(which, res):
                hmr[i] = r
        tm["regress"] += time.perf_counter() - t0
    for (index, t, obs, _), h in zip(buf, hmr):
        recs.add(index, t, obs, h)


def _finish(recs, fitted, fps, gap_frames, smooth, model, data, body, temporal, tm, notes, info, stride, focal,
            turns=None, partial=None):
    """The fitted frames → a grounded, smoothed MotionFit in the world frame (None if nothing was fitted)."""
    from .results import MotionFit, reframe
    from .temporal import fill_gaps, interpolate_missing

    t0 = time.perf_counter()
    n = len(fitted["pose"])
    det = np.asarray(recs.detected[:n], bool)
    if n == 0 or not det.any():
        return None
    keep, filled = fill_gaps(det, gap_frames)
    a, b = np.flatnonzero(det)[0], np.flatnonzero(det)[-1] + 1
    was_fitted = np.array([p is not None for p in fitted["pose"][a:b]])
    pose = np.stack([p if p is not None else np.zeros((24, 3)) for p in fitted["pose"][a:b]])
    transl = np.stack([t if t is not None else np.zeros(3) for t in fitted["transl"][a:b]])
    det, filled, keep = det[a:b], filled[a:b], keep[a:b]
    betas = fitted["betas"]
    if (~keep).any():  # long gaps (never fitted): hold the timeline, interpolate, neither detected nor filled
        pose, transl = interpolate_missing(pose, transl, (det | filled) & was_fitted)

    rest_pelvis = model.data.shaped(betas)[1][0]
    from .camera import CameraPath, PinholeCamera

    k = PinholeCamera(focal, focal, info.width / 2.0, info.height / 2.0, info.width, info.height)
    contact, facts = None, {}
    if temporal:
        from .world_frame import place_in_world

        turns = None if turns is None else _frames_of(np.asarray(turns), a, b, len(recs))
        world = place_in_world(model, pose, transl, betas, turns, fps, smooth=smooth)
        pose, transl, contact, facts = world.pose, world.transl, world.contact, world.facts
        camera = CameraPath(world.camera_rotation, world.camera_position, k, video=str(info.path.resolve()))
    else:  # the baseline: a still, level camera, one floor for the clip
        from .body.kinematics import motion_joints
        from .temporal import floor_height

        pose, transl = reframe(pose, transl, rest_pelvis)  # camera → world
        feet = motion_joints(model, pose, betas, transl)[:, FOOT_JOINTS]
        floor = floor_height(feet)
        transl = transl - [0.0, floor, 0.0]
        camera = CameraPath.still(len(pose), k, video=str(info.path.resolve())).turned(np.eye(3), (0, -floor, 0))
    tm["post"] += time.perf_counter() - t0
    meta = {"source": str(info.path), "start_time": float(recs.time[a]), "start_frame": int(recs.index[a]),
            "stride": int(stride), "video_fps": float(info.fps), "frame": "world",
            "camera_motion": ("turns measured from the background, world = the first frame's camera levelled by "
                              "the floor fitted to the feet, floor at y = 0" if temporal else
                              "still and level; world = R_x(pi) camera, floor at y = 0"), **facts,
            "smooth": float(smooth) if temporal else 0.0, "temporal": bool(temporal),
            "rest_pelvis": np.asarray(rest_pelvis, dtype=np.float64).tolist(),  # saving turns the motion with it
            "long_gaps": int((~keep).sum()), "unseen_before": int(a),
            "unseen_after": int(len(recs) - 1 - np.flatnonzero(recs.detected)[-1]),
            "notes": list(notes)}
    if contact is not None:
        meta["foot_contact_fraction"] = float(contact.mean())
    if partial:
        meta["incomplete"] = partial
    from .body.load import body_label

    return MotionFit(pose=pose, transl=transl, betas=betas, fps=fps, detected=det, filled=filled,
                     body_model=body_label(body), metadata=meta, camera=camera)


def _frames_of(turns, a, b, n):
    """The camera turns of kept frames a..b-1 (turns [T,3,3], or [T,3,4] with the camera centres beside them: one
    per frame looked at; an interrupt may leave it one short or long), re-based so that the first kept frame's
    camera is the reference."""
    if len(turns) < n:
        turns = np.concatenate([turns, np.repeat(turns[-1:], n - len(turns), 0)])
    turns = turns[a:b]
    rot = turns[0, :, :3].T @ turns[..., :3]
    if turns.shape[-1] == 3:
        return rot
    centres = (turns[..., 3] - turns[0, :, 3]) @ turns[0, :, :3]  # R₀ᵀ (c_t - c₀), as rows
    return np.concatenate([rot, centres[..., None]], axis=2)


# ------------------------------------------------------------------------------------------------- CLI


MAX_STRIDE = 1000


def add_arguments(parser) -> None:
    from .cli import number

    parser.add_argument("video", help="the video file (anything OpenCV decodes) or a folder of numbered images")
    parser.add_argument("--out", required=True, help="the motion file to write (.npz AMASS-style, or .smpl)")
    parser.add_argument("--start", type=number(float, 0.0), default=0.0, help="start time, seconds (>= 0)")
    parser.add_argument("--end", type=number(float, 0.0, low_open=True), default=None,
                        help="end time, seconds (default: the end)")
    parser.add_argument("--stride", type=number(int, 1, MAX_STRIDE), default=1,
                        help=f"use every K-th frame (1-{MAX_STRIDE})")
    parser.add_argument("--checkpoint", default=None, help="HMR checkpoint (SPIN's model_checkpoint.pt)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--smooth", type=number(float, 0.0, 1.0), default=0.5,
                        help="smoothing strength, 0 (none) to 1 (most)")
    parser.add_argument("--body", default=None, help="'open' (default), 'tiny' or an SMPL .pkl/.npz file")
    parser.add_argument("--person", type=number(int, 0), default=None,
                        help="follow the K-th person from the left in the first frame, counting from 0 (default: the largest)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    from .photo import add_pose_model_argument

    add_pose_model_argument(parser)


def run(args) -> int:
    from .cli import write_output
    from .errors import BadInputError
    from .fileio import check_output_path
    from .interrupts import stop_exit_code
    from .motion_io import SUFFIXES, save_motion

    out = check_output_path(args.out, SUFFIXES)  # before the fit, which may take minutes
    if args.end is not None and args.end <= args.start:
        raise BadInputError(f"--end ({args.end}) must be after --start ({args.start})")
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=None, unit="frame", file=sys.stderr, desc="video", dynamic_ncols=True)

    def progress(done, total, stage):
        if bar is not None:
            bar.total = total
            bar.set_description(stage)
            bar.update(max(0, done - bar.n))

    def write(motion, why):
        if motion is None:
            print(f"{why}; no frame was fitted, nothing written", file=sys.stderr)
            return
        with write_output(out):
            save_motion(motion, out)
        print(f"{why}; wrote the {motion.num_frames} frames fitted so far to {out}", file=sys.stderr)

    from .pipeline import Settings, video_motion

    settings = Settings(body=args.body, checkpoint=args.checkpoint, device=args.device, start=args.start,
                        end=args.end, stride=args.stride, smooth=args.smooth, person=args.person,
                        pose_model=args.pose_model)
    try:
        motion = video_motion(args.video, settings, progress=progress).motion
    except VideoStopped as exc:
        if bar is not None:
            bar.close()
        write(exc.motion, f"error: {exc}")
        return exc.exit_code
    except VideoInterrupted as exc:
        if bar is not None:
            bar.close()
        write(exc.motion, "interrupted")
        return stop_exit_code() or 130
    if bar is not None:
        bar.close()
    with write_output(out):
        save_motion(motion, out)
    d, f = int(motion.detected.sum()), int(motion.filled.sum())
    meta = motion.metadata
    unseen = f", {meta.get('long_gaps', 0)} unseen and interpolated" if meta.get("long_gaps") else ""
    cut = int(meta.get("unseen_before", 0)) + int(meta.get("unseen_after", 0))
    cut = f"; {cut} frames without the person before or after them left out" if cut else ""
    print(f"wrote {out}: {motion.num_frames} frames at {motion.fps:.3f} fps ({d} detected, {f} filled{unseen}){cut}",
          file=sys.stderr)
    return 0
