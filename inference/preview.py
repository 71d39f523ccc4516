"""A preview people can look at: the motion's body over sampled frames of its video, and from the side on a floor
grid, in one PNG sheet (and, if asked, an mp4 of every frame). No Blender, no OpenGL: inference.raster.

    python -m inference preview MOTION.npz [--video CLIP] --out sheet.png [--frames 8] [--mp4 out.mp4]
        [--body open|tiny|PATH]

The sheet: a title line, then two rows of `frames` panels, evenly spaced over the motion (first and last
included). Top row: the video frame with the posed body mesh drawn over it through the motion's camera at that
frame (MotionFit.camera, an inference.camera.CameraPath). A motion without one (a file written before motions kept
their camera, an export from Blender) is drawn through the still camera the video fit assumed then: at the world
origin, world = CAMERA_TO_WORLD · camera, focal length the image diagonal (inference.camera.default_focal); as
that fit moved the floor to y = 0 afterwards without saying by how much, such a body is drawn displaced upwards
by the camera's height. Bottom row: the same body from the side (orthographic, looking along the camera's
right, 15° from above) on a 0.5 m grid in the floor plane y = 0 (where the video fit puts the floor), with the
lowest point of the body above (+) or below (-) the floor written under it.

Motion frame t is video frame metadata["start_frame"] + t · metadata["stride"] of the timeline the fit read
(inference.frames). Without --video the motion's own video (its camera's, else metadata["source"]) is used when that
file exists; otherwise the top row has a plain grey background.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .camera import CameraPath, PinholeCamera, default_focal

BODY_RGB = (158, 178, 217)  # the body material's colour in Blender (operators.photo_scene.body_material)
OVERLAY_ALPHA = 0.65
PANEL_HEIGHT = 360  # the largest panel height, px
PANEL_WIDTH = 400  # the largest panel width, px
MARGIN = 6
TITLE = 26  # the title line's height, px
SIDE_ELEVATION = np.radians(15.0)
SIDE_SPAN_M = 2.6  # metres of height a side panel shows
GRID_M = 0.5
GRID_EXTENT_M = 6.0
GRID_FADE_M = 5.0  # grid lines fade out this far behind the body
NEAR_M = 0.05  # triangles with a vertex closer to the camera than this are not drawn
BACKGROUND = (128, 128, 128)
SIDE_BACKGROUND = (234, 234, 234)
MAX_FRAMES = 64
SUFFIX = ".png"
MP4_SUFFIX = ".mp4"


def still_camera(num_frames: int, width: float, height: float, video: str | None = None) -> CameraPath:
    """The camera the video fit assumes when it knows no better: still, at the world origin, world =
    CAMERA_TO_WORLD · camera, focal length the image diagonal."""
    f = default_focal(width, height)
    return CameraPath.still(num_frames, PinholeCamera(f, f, width / 2.0, height / 2.0, float(width), float(height)),
                            video)


def motion_camera(motion, width: float | None = None, height: float | None = None) -> CameraPath | None:
    """The motion's own camera path (MotionFit.camera), else the still camera for an image of width x height
    (the video's size), else None when neither is known."""
    if motion.camera is not None:
        return motion.camera
    if width is None or height is None:
        return None
    return still_camera(motion.num_frames, width, height)


def sample_frames(num_frames: int, count: int) -> np.ndarray:
    """`count` motion frames evenly spaced over [0, num_frames), first and last included (fewer when the motion
    is shorter)."""
    count = max(1, min(int(count), int(num_frames)))
    if count == 1:
        return np.array([0])
    return np.unique(np.rint(np.linspace(0, num_frames - 1, count)).astype(int))


def video_frame_index(motion, t) -> np.ndarray:
    """Motion frame(s) t → the video timeline's frame index (start_frame + t · stride)."""
    meta = motion.metadata
    return int(meta.get("start_frame", 0)) + np.asarray(t) * int(meta.get("stride", 1))


def panel_size(width: float, height: float) -> tuple[int, int]:
    """A video of width x height → the panel size (w, h): scaled to fit PANEL_WIDTH x PANEL_HEIGHT."""
    s = min(PANEL_HEIGHT / float(height), PANEL_WIDTH / float(width))
    return max(1, int(round(width * s))), max(1, int(round(height * s)))


def scaled(intrinsics: PinholeCamera, width: int, height: int) -> PinholeCamera:
    """The same camera for the image resized to width x height."""
    sx, sy = width / intrinsics.width, height / intrinsics.height
    return PinholeCamera(intrinsics.fx * sx, intrinsics.fy * sy, intrinsics.cx * sx, intrinsics.cy * sy,
                         float(width), float(height))


# --------------------------------------------------------------------------------------------- rendering


def render_over(image, vertices, faces, camera: CameraPath, frame: int):
    """The body (vertices [V,3] world) drawn through `camera` at motion frame `frame` over `image` (uint8
    [h,w,3] RGB, the camera's image resized to any size) → (image with the body, coverage mask [h,w] bool)."""
    from . import raster

    h, w = image.shape[:2]
    k = scaled(camera.intrinsics, w, h)
    pc = (np.asarray(vertices, dtype=np.float64) - camera.position[frame]) @ camera.rotation[frame]
    z = pc[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        xy = k.project(pc)
    xy[z < NEAR_M] = np.nan  # behind or at the camera: those triangles are skipped
    face, _ = raster.rasterize(xy, -1.0 / z, faces, w, h)
    # light from the camera, a little above it
    shade = raster.lambert(raster.face_normals(pc, faces), [0.3, -0.6, -1.0])
    return raster.paint(image, face, shade, BODY_RGB, OVERLAY_ALPHA), face >= 0


@dataclass(frozen=True)
class SideView:
    """An orthographic view from the side: `forward` (unit, world) is the viewing direction, `right` and `down`
    the image axes, `scale` pixels per metre, `size` (w, h) of the panel."""

    forward: np.ndarray
    right: np.ndarray
    down: np.ndarray
    scale: float
    size: tuple

    def project(self, points, centre) -> tuple[np.ndarray, np.ndarray]:
        """points [...,3] world, `centre` [3] the world point at the middle of the panel → (xy [...,2] px,
        depth [...] metres along `forward`)."""
        d = np.asarray(points, dtype=np.float64) - np.asarray(centre, dtype=np.float64)
        w, h = self.size
        xy = np.stack([d @ self.right * self.scale + w / 2.0, d @ self.down * self.scale + h / 2.0], axis=-1)
        return xy, d @ self.forward


def side_view(camera_right, size, elevation: float = SIDE_ELEVATION) -> SideView:
    """Looking along the camera's right axis (world [3]; its horizontal part), tilted `elevation` radians down,
    so a person facing the camera is seen in profile. size: (w, h) of the panel."""
    up = np.array([0.0, 1.0, 0.0])
    r = np.asarray(camera_right, dtype=np.float64) * [1.0, 0.0, 1.0]
    r = r / np.linalg.norm(r) if np.linalg.norm(r) > 1e-9 else np.array([1.0, 0.0, 0.0])
    forward = np.cos(elevation) * r - np.sin(elevation) * up
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return SideView(forward, right, down, scale=size[1] / SIDE_SPAN_M, size=tuple(int(s) for s in size))


def side_centre(vertices) -> np.ndarray:
    """The world point a side panel is centred on: above the body's middle, at 1.1 m (floor y = 0 low in the
    panel)."""
    v = np.asarray(vertices, dtype=np.float64)
    mid = (v.min(0) + v.max(0)) / 2.0
    return np.array([mid[0], 1.1, mid[2]])


def render_side(vertices, faces, view: SideView, floor_y: float = 0.0):
    """The body (vertices [V,3] world) from the side on the floor grid → (image uint8 [h,w,3], mask [h,w])."""
    import cv2

    from . import raster

    w, h = view.size
    image = np.empty((h, w, 3), np.uint8)
    image[:] = SIDE_BACKGROUND
    centre = side_centre(vertices)
    _grid(image, view, centre, floor_y)
    xy, depth = view.project(vertices, centre)
    face, _ = raster.rasterize(xy, depth, faces, w, h)
    shade = raster.lambert(raster.face_normals(vertices, faces), -view.forward + 0.6 * np.array([0.0, 1.0, 0.0]))
    out = raster.paint(image, face, shade, BODY_RGB, 1.0)
    low = float(np.asarray(vertices)[:, 1].min() - floor_y)
    cv2.putText(out, f"lowest {100 * low:+.1f} cm", (4, h - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (40, 40, 40), 1,
                cv2.LINE_AA)
    return out, face >= 0


def _grid(image, view: SideView, centre, floor_y: float) -> None:
    """Lines every GRID_M metres in the floor plane around `centre`, drawn into `image` (in place), fading into
    the background with distance behind the centre (a floor rather than a wall of lines)."""
    import cv2

    lo = np.floor((centre[[0, 2]] - GRID_EXTENT_M) / GRID_M) * GRID_M
    n = int(round(2 * GRID_EXTENT_M / GRID_M)) + 1
    ticks = [lo[0] + GRID_M * np.arange(n), lo[1] + GRID_M * np.arange(n)]
    # every line in GRID_M pieces, each faded by its own distance: [2 axes, n lines, n points, 3]
    pts = np.zeros((2, n, n, 3))
    pts[..., 1] = floor_y
    pts[0, :, :, 0], pts[0, :, :, 2] = ticks[0][:, None], ticks[1][None, :]
    pts[1, :, :, 2], pts[1, :, :, 0] = ticks[1][:, None], ticks[0][None, :]
    xy, depth = view.project(pts, centre)
    fade = np.clip(1.0 - (depth[..., 1:] + depth[..., :-1]) / (2 * GRID_FADE_M), 0.0, 1.0)  # [2,n,n-1]
    values = np.stack(ticks)[:, :, None]
    major = np.abs(values / (2 * GRID_M) - np.round(values / (2 * GRID_M))) < 1e-6  # every metre darker
    ink = np.where(major, 120.0, 170.0)
    bg = float(SIDE_BACKGROUND[0])
    grey = np.rint(bg + (ink - bg) * fade).astype(int)
    ends = np.rint(xy).astype(int)
    h, w = image.shape[:2]
    a, b = ends[..., :-1, :], ends[..., 1:, :]
    inside = ((np.maximum(a[..., 0], b[..., 0]) >= 0) & (np.minimum(a[..., 0], b[..., 0]) < w)
              & (np.maximum(a[..., 1], b[..., 1]) >= 0) & (np.minimum(a[..., 1], b[..., 1]) < h))
    for i in zip(*np.nonzero(inside & (fade > 0))):
        g = int(grey[i])
        cv2.line(image, tuple(a[i].tolist()), tuple(b[i].tolist()), (g, g, g), 1, cv2.LINE_AA)


# ------------------------------------------------------------------------------------------------ the sheet


def sheet_layout(columns: int, panel: tuple, rows: int = 2) -> tuple[tuple[int, int], list]:
    """→ ((sheet width, sheet height), [[(x, y) of row r, column c] for each row]): panels of panel = (w, h)
    with MARGIN between and around them, under a TITLE line."""
    pw, ph = panel
    size = (MARGIN + columns * (pw + MARGIN), TITLE + MARGIN + rows * (ph + MARGIN))
    origins = [[(MARGIN + c * (pw + MARGIN), TITLE + MARGIN + r * (ph + MARGIN)) for c in range(columns)]
               for r in range(rows)]
    return size, origins


def compose_sheet(rows, title: str, labels=()) -> np.ndarray:
    """rows: lists of equal-size uint8 panels [h,w,3] (each row as long as the first) → the sheet image (RGB);
    labels: one text per column, written on the first row's panels."""
    import cv2

    columns = len(rows[0])
    ph, pw = rows[0][0].shape[:2]
    (sw, sh), origins = sheet_layout(columns, (pw, ph), len(rows))
    sheet = np.full((sh, sw, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for c, panel in enumerate(row):
            x, y = origins[r][c]
            sheet[y:y + ph, x:x + pw] = panel
    for c, text in enumerate(labels):
        x, y = origins[0][c]
        cv2.putText(sheet, text, (x + 4, y + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(sheet, text, (x + 4, y + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    cv2.putText(sheet, title, (MARGIN, TITLE - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return sheet


def body_vertices(motion, data, frames) -> np.ndarray:
    """The posed, shaped mesh of the motion at `frames` → [K,V,3] world, metres."""
    import torch

    from .body.load import body_model

    model = body_model(data, "cpu")
    frames = np.asarray(frames)
    betas = np.asarray(motion.betas)[: data.num_betas]
    out = []
    with torch.no_grad():
        for s in range(0, len(frames), 64):
            f = frames[s:s + 64]
            res = model(motion.pose[f], np.repeat(betas[None], len(f), axis=0), motion.transl[f])
            out.append(res.vertices.double().cpu().numpy())
    return np.concatenate(out)


def iter_frames(video, indices):
    """Yield (index, RGB uint8 [H,W,3]) for the video timeline's frames at `indices` (those the video has), in
    order, in one decoding pass that stops after the last one."""
    from .frames import open_frames

    wanted = set(int(i) for i in np.asarray(indices).ravel())
    if not wanted:
        return
    src = open_frames(video)
    last = max(wanted)
    end = min(src.info.duration, (last + 1.5) / src.info.fps)
    for chunk in src.chunks(0.0, end if end > 0 else None, 1, chunk_size=16):
        for i, frame in zip(chunk.indices, chunk.frames):
            if int(i) in wanted:
                yield int(i), frame
        if chunk.indices[-1] >= last:
            return


def read_frames(video, indices) -> dict:
    """{index: frame} of `iter_frames` (for a few frames: they are all held)."""
    return dict(iter_frames(video, indices))


def _video_for(motion, camera: CameraPath | None, video) -> Path | None:
    """The clip to draw over: `video` when given, else the motion's own when that file exists."""
    if video is not None:
        return Path(video)
    for guess in ((camera.video if camera else None), motion.metadata.get("source")):
        if guess and Path(guess).is_file():
            return Path(guess)
    return None


def _frame_size(video: Path | None, camera: CameraPath | None):
    if video is not None:
        from .frames import open_frames

        info = open_frames(video).info
        return info.width, info.height
    if camera is not None:
        return camera.intrinsics.width, camera.intrinsics.height
    return 640, 480  # nothing known: a 4:3 grey frame, the still camera of that size


def _setup(motion, video, camera: CameraPath | None):
    """→ (the clip or None, the camera, the panel size) for drawing `motion`."""
    camera = camera or motion_camera(motion)
    video = _video_for(motion, camera, video)
    width, height = _frame_size(video, camera)
    camera = camera or motion_camera(motion, width, height)
    return video, camera, panel_size(width, height)


def _background(frame, panel) -> np.ndarray:
    import cv2

    if frame is None:
        image = np.empty((panel[1], panel[0], 3), np.uint8)
        image[:] = BACKGROUND
        return image
    return cv2.resize(frame, panel, interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class Preview:
    """What `make_preview` drew: the sheet (RGB uint8), the motion frames sampled, the top row's body masks
    [K,h,w] (panel size) and the panel size (w, h)."""

    sheet: np.ndarray
    frames: np.ndarray
    masks: np.ndarray
    panel: tuple


def make_preview(motion, data, video=None, frames: int = 8, camera: CameraPath | None = None,
                 title: str = "", floor_y: float = 0.0) -> Preview:
    """The preview sheet of `motion` (inference.results.MotionFit, WORLD frame) with body `data`
    (BodyModelData). video: the clip (None: the motion's own if it exists). camera: overrides the motion's.
    Raises BadInputError for an unreadable video."""
    video, camera, panel = _setup(motion, video, camera)
    picks = sample_frames(motion.num_frames, frames)
    verts = body_vertices(motion, data, picks)
    images = read_frames(video, video_frame_index(motion, picks)) if video is not None else {}
    view = side_view(camera.rotation[picks].mean(0)[:, 0], panel)
    top, bottom, masks, labels = [], [], [], []
    for k, t in enumerate(picks):
        frame = images.get(int(video_frame_index(motion, t)))
        over, mask = render_over(_background(frame, panel), verts[k], data.f, camera, int(t))
        top.append(over)
        masks.append(mask)
        bottom.append(render_side(verts[k], data.f, view, floor_y)[0])
        seen = "" if motion.detected[t] else (" filled" if motion.filled[t] else " unseen")
        labels.append(f"{t} {t / motion.fps:.2f}s{seen}")
    sheet = compose_sheet([top, bottom], title, labels)
    return Preview(sheet=sheet, frames=picks, masks=np.stack(masks), panel=panel)


def write_png(image, path) -> Path:
    """An RGB uint8 image as a PNG at `path`, atomically (inference.fileio)."""
    import cv2

    from .errors import OutputWriteError
    from .fileio import atomic_write_bytes

    ok, buf = cv2.imencode(".png", np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise OutputWriteError(f"could not encode {Path(path).name} as a PNG")
    atomic_write_bytes(path, buf.tobytes())
    return Path(path)


def write_mp4(motion, data, path, video=None, camera: CameraPath | None = None, floor_y: float = 0.0,
              progress=None) -> Path:
    """Every frame of the motion: the body over the video beside the side view, at the motion's rate, as an
    H.264 mp4 at `path` (atomically). progress: callable(done, total)."""
    import imageio_ffmpeg

    from .fileio import atomic_path

    video, camera, panel = _setup(motion, video, camera)
    view = side_view(camera.rotation.mean(0)[:, 0], panel)
    size = (2 * panel[0] + (2 * panel[0]) % 2, panel[1] + panel[1] % 2)  # H.264 wants even sizes
    every = np.arange(motion.num_frames)
    frames = iter_frames(video, video_frame_index(motion, every)) if video is not None else iter(())
    held = (-1, None)  # the last decoded (index, frame): the video is read once, in step with the motion
    with atomic_path(path, suffix=MP4_SUFFIX) as tmp:
        writer = imageio_ffmpeg.write_frames(str(tmp), size, fps=float(motion.fps), macro_block_size=1,
                                             codec="libx264", pix_fmt_out="yuv420p", quality=7)
        writer.send(None)
        try:
            for first in range(0, motion.num_frames, 32):
                picks = every[first:first + 32]
                verts = body_vertices(motion, data, picks)
                for k, t in enumerate(picks):
                    want = int(video_frame_index(motion, t))
                    while held[0] < want:
                        held = next(frames, (np.inf, None))
                    frame = held[1] if held[0] == want else None
                    over, _ = render_over(_background(frame, panel), verts[k], data.f, camera, int(t))
                    side, _ = render_side(verts[k], data.f, view, floor_y)
                    out = np.zeros((size[1], size[0], 3), np.uint8)
                    out[:panel[1], :panel[0]] = over
                    out[:panel[1], panel[0]:2 * panel[0]] = side
                    writer.send(np.ascontiguousarray(out))
                if progress:
                    progress(int(picks[-1]) + 1, motion.num_frames)
        finally:
            writer.close()
    return Path(path)


# ------------------------------------------------------------------------------------------------- CLI


def add_arguments(parser) -> None:
    from .cli import number

    parser.add_argument("motion", help="the motion file (.npz or .smpl, as `video` writes it)")
    parser.add_argument("--video", default=None,
                        help="the clip the motion came from (default: the motion's own, when that file exists)")
    parser.add_argument("--out", required=True, help="the PNG sheet to write")
    parser.add_argument("--frames", type=number(int, 1, MAX_FRAMES), default=8,
                        help=f"how many frames the sheet shows (1-{MAX_FRAMES})")
    parser.add_argument("--mp4", default=None, help="also write every frame as an mp4 (slower)")
    parser.add_argument("--body", default=None,
                        help="the body model: 'open', 'tiny' or an SMPL .pkl/.npz (default: the motion's own)")


def run(args) -> int:
    from .cli import write_output
    from .errors import BadInputError
    from .fileio import check_output_path
    from .motion_io import load_motion
    from .pipeline import Settings, world_motion

    out = check_output_path(args.out, (SUFFIX,))
    mp4 = check_output_path(args.mp4, (MP4_SUFFIX,), what="--mp4") if args.mp4 is not None else None
    if args.video is not None and not Path(args.video).is_file():
        raise BadInputError(f"--video {args.video} is not a file")
    body = args.body or load_motion(args.motion).body_model
    result = world_motion(args.motion, Settings(body=body))
    motion, data = result.motion, result.body
    title = f"{Path(args.motion).name}: {motion.num_frames} frames at {motion.fps:g} fps, body {body}"
    if motion.camera is None:
        print("note: the motion keeps no camera; it is drawn through a still camera at the floor's height, so the "
              "body shows up too high over the footage", file=sys.stderr)
    preview = make_preview(motion, data, video=args.video, frames=args.frames, title=title)
    with write_output(out):
        write_png(preview.sheet, out)
    print(f"wrote {out} ({len(preview.frames)} frames)", file=sys.stderr)
    if mp4 is not None:
        with write_output(mp4, what="--mp4", hold_signals=False):
            write_mp4(motion, data, mp4, video=args.video)
        print(f"wrote {mp4} ({motion.num_frames} frames)", file=sys.stderr)
    return 0
