"""The main job on the embedded default: the sample photo → a rigged, posed character (.blend) + a PNG render.

Run through `bash scripts/demo.sh` (which sets up .venv first). Prints the two paths; exit 2 with one line
when the photo cannot be used (no person, unreadable).

Given a video (`--video CLIP`) instead: the clip → its motion (out/motion.npz), an animated character with the
video's camera and the clip behind it (out/character.blend), and the preview sheet (out/preview.png: the body
over sampled frames and from the side, inference.preview). Prints the three paths.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import repo_package  # noqa: E402  (the repository as the package `bodyrig`)

repo_package.install()


def build(photo: Path, out_dir: Path, body=None, checkpoint=None, device="auto"):
    """Fit the photo, build and pose the character in the photo's camera, save the fit's JSON and the .blend.

    Returns (the Character, the image it was fitted on).
    """
    import bpy

    from inference.images import load_image
    from inference.pipeline import Settings, fit_photo
    from bodyrig.operators.photo_scene import character_from_fit, save_blend
    from bodyrig.operators.render import add_key_light

    image = load_image(photo)
    photo_fit = fit_photo(image, Settings(body=body, checkpoint=checkpoint, device=device))
    fit = photo_fit.fit
    for note in fit.notes:
        print(f"note: {note}")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    character = character_from_fit(fit, photo_fit.body, name="Character")
    add_key_light(character.collection)
    out_dir.mkdir(parents=True, exist_ok=True)
    fit.save_json(out_dir / "character.json")
    save_blend(out_dir / "character.blend")
    return character, image


def run(photo: Path, out_dir: Path, body=None, checkpoint=None, device="auto"):
    """`build`, then render the PNG: the character over the photo beside a 3/4 view of it in 3D."""
    import bpy

    from bodyrig.operators.render import add_orbit_camera, composite_over, render_png, setup_cycles, side_by_side

    character, image = build(photo, out_dir, body=body, checkpoint=checkpoint, device=device)
    scene = bpy.context.scene
    setup_cycles(scene, samples=16, transparent=True)
    photo_camera = scene.camera
    with tempfile.TemporaryDirectory() as tmp:
        over = composite_over(render_png(Path(tmp) / "photo_view.png"), image.rgb, Path(tmp) / "over.png")
        scene.camera = add_orbit_camera(character.collection, character.mesh, azimuth_deg=55, elevation_deg=8)
        scene.render.resolution_x = int(scene.render.resolution_y * 0.75)
        setup_cycles(scene, samples=16, transparent=False)
        side = render_png(Path(tmp) / "side_view.png")
        png = side_by_side([over, side], out_dir / "character.png")
    scene.camera = photo_camera
    return out_dir / "character.blend", png


def run_video(video: Path, out_dir: Path, body=None, checkpoint=None, device="auto"):
    """The clip → (the .blend with the animated character and the video's camera, the motion file, the sheet)."""
    import bpy

    from inference.motion_io import save_motion
    from inference.pipeline import Settings, video_motion
    from inference.preview import make_preview, write_png
    from bodyrig.operators.photo_scene import character_from_motion, save_blend
    from bodyrig.operators.render import add_key_light

    result = video_motion(video, Settings(body=body, checkpoint=checkpoint, device=device))
    motion = result.motion
    out_dir.mkdir(parents=True, exist_ok=True)
    motion_path = save_motion(motion, out_dir / "motion.npz")
    title = f"{video.name}: {motion.num_frames} frames at {motion.fps:g} fps"
    sheet = write_png(make_preview(motion, result.body, video=video, title=title).sheet, out_dir / "preview.png")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    character = character_from_motion(motion, result.body, name="Character")
    add_key_light(character.collection)
    return save_blend(out_dir / "character.blend"), motion_path, sheet


def main(argv=None) -> int:
    from inference.cache import SAMPLE_PHOTO
    from inference.errors import BodyRigError

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=SAMPLE_PHOTO)
    parser.add_argument("--video", type=Path, default=None,
                        help="a clip instead of the photo: motion, animated character and preview sheet")
    parser.add_argument("--out", type=Path, default=REPO / "out")
    parser.add_argument("--body", default=None, help="open (default) or an SMPL .pkl/.npz")
    parser.add_argument("--checkpoint", default=None, help="an HMR (SPIN) checkpoint, optional")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    try:
        if args.video is not None:
            blend, motion, png = run_video(args.video, args.out, body=args.body, checkpoint=args.checkpoint,
                                           device=args.device)
            print(f"motion: {motion}")
        else:
            blend, png = run(args.photo, args.out, body=args.body, checkpoint=args.checkpoint, device=args.device)
    except BodyRigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"blend: {blend}")
    print(f"png: {png}")
    print(f"({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
