"""The main job on the embedded default: the sample photo → a rigged, posed character (.blend) + a PNG render.

Run through `bash scripts/demo.sh` (which sets up .venv first). Prints the two paths; exit 2 with one line
when the photo cannot be used (no person, unreadable).
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


def run(photo: Path, out_dir: Path, body=None, checkpoint=None, device="auto"):
    """Fit the photo, build and pose the character in the photo's camera, save .blend and render PNG."""
    import bpy

    from inference.body import load_body
    from inference.images import load_image
    from inference.photo import fit_image
    from bodyrig.operators.photo_scene import character_from_fit, save_blend
    from bodyrig.operators.render import (add_key_light, add_orbit_camera, composite_over, render_png,
                                  setup_cycles, side_by_side)

    image = load_image(photo)
    fit = fit_image(image, body=body, checkpoint=checkpoint, device=device)
    for note in fit.notes:
        print(f"note: {note}")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    character = character_from_fit(fit, load_body(body), name="Character")
    add_key_light(character.collection)
    out_dir.mkdir(parents=True, exist_ok=True)
    fit.save_json(out_dir / "character.json")
    blend = save_blend(out_dir / "character.blend")
    # The picture: the character over the photo (from the photo's camera) beside a 3/4 view of it in 3D.
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
    return blend, png


def main(argv=None) -> int:
    from inference.cache import SAMPLE_PHOTO
    from inference.errors import BodyRigError

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=SAMPLE_PHOTO)
    parser.add_argument("--out", type=Path, default=REPO / "out")
    parser.add_argument("--body", default=None, help="open (default) or an SMPL .pkl/.npz")
    parser.add_argument("--checkpoint", default=None, help="an HMR (SPIN) checkpoint, optional")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    try:
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
