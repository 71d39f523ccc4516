"""`python -m inference pifu IMAGE --net-g NET_G --net-c NET_C --out MESH.ply|.obj|.glb`: a clothed, coloured
mesh of the person in a photo, from PIFu's released checkpoints. No torch at import time."""

from __future__ import annotations

import sys

from .surface import MODES


def add_arguments(parser):
    parser.add_argument("image", help="a photo of one whole person")
    parser.add_argument("--net-g", required=True, help="PIFu's released shape checkpoint (file 'net_G')")
    parser.add_argument("--net-c", default=None,
                        help="PIFu's released colour checkpoint (file 'net_C'); without it the mesh has no colours")
    parser.add_argument("--out", required=True, help="output mesh: .ply, .obj or .glb (with vertex colours)")
    parser.add_argument("--resolution", type=int, default=256,
                        help="grid cells per side of the [-1,1]³ box (256 -> 257³ points); default 256")
    parser.add_argument("--mode", choices=MODES, default="lossless",
                        help="occupancy sampling: dense (every point), fast or lossless (coarse-to-fine; "
                             "lossless gives the dense mesh with ~100x fewer queries); default lossless")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")


def run(args) -> int:
    import time
    from pathlib import Path

    from ..errors import BadInputError
    from .meshio import FORMATS, write_mesh
    from .reconstruct import reconstruct

    out = Path(args.out)
    if out.suffix.lower() not in FORMATS:
        raise BadInputError(f"--out must end in one of {', '.join(FORMATS)}, got {out.name}")
    if args.resolution < 16:
        raise BadInputError(f"--resolution must be at least 16, got {args.resolution}")
    t0 = time.perf_counter()
    mesh = reconstruct(args.image, args.net_g, args.net_c, resolution=args.resolution, mode=args.mode,
                       device=args.device)
    write_mesh(out, mesh.vertices, mesh.faces, mesh.colours)
    print(f"{out}: {len(mesh.vertices)} vertices, {len(mesh.faces)} faces"
          f"{', coloured' if mesh.colours is not None else ''}; {mesh.evaluated_count} occupancy queries "
          f"({args.mode}, {args.resolution + 1}³ grid), {time.perf_counter() - t0:.1f} s", file=sys.stdout)
    return 0
