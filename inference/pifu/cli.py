"""`python -m inference pifu IMAGE --net-g NET_G --net-c NET_C --out MESH.ply|.obj|.glb`: a clothed, coloured
mesh of the person in a photo, from PIFu's released checkpoints. No torch at import time."""

from __future__ import annotations

import sys

from .reconstruct import MAX_RESOLUTION, MIN_RESOLUTION  # no torch there at import time
from .surface import MODES


def add_arguments(parser):
    parser.add_argument("image", help="a photo of one whole person")
    parser.add_argument("--net-g", required=True, help="PIFu's released shape checkpoint (file 'net_G')")
    parser.add_argument("--net-c", default=None,
                        help="PIFu's released colour checkpoint (file 'net_C'); without it the mesh has no colours")
    parser.add_argument("--out", required=True, help="output mesh: .ply, .obj or .glb (with vertex colours)")
    from ..cli import number

    parser.add_argument("--resolution", type=number(int, MIN_RESOLUTION, MAX_RESOLUTION), default=256,
                        help=f"grid cells per side of the [-1,1]³ box (256 -> 257³ points), "
                             f"{MIN_RESOLUTION}-{MAX_RESOLUTION}; default 256")
    parser.add_argument("--mode", choices=MODES, default="lossless",
                        help="occupancy sampling: dense (every point), fast or lossless (coarse-to-fine; "
                             "lossless gives the dense mesh with ~100x fewer queries); default lossless")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")


def run(args) -> int:
    import time

    from ..cli import write_output
    from ..fileio import check_output_path
    from .meshio import FORMATS, write_mesh
    from .reconstruct import reconstruct

    out = check_output_path(args.out, FORMATS)  # before the work
    t0 = time.perf_counter()
    mesh = reconstruct(args.image, args.net_g, args.net_c, resolution=args.resolution, mode=args.mode,
                       device=args.device)
    with write_output(out):
        write_mesh(out, mesh.vertices, mesh.faces, mesh.colours)
    print(f"{out}: {len(mesh.vertices)} vertices, {len(mesh.faces)} faces"
          f"{', coloured' if mesh.colours is not None else ''}; {mesh.evaluated_count} occupancy queries "
          f"({args.mode}, {args.resolution + 1}³ grid), {time.perf_counter() - t0:.1f} s", file=sys.stdout)
    return 0
