"""`python -m inference`: one entry point whose subcommands live in the modules that do the work.

Each subcommand module provides `add_arguments(parser)` and `run(args) -> int` and must not import torch at
module level, so that `--help` stays fast. Errors of the BodyRigError family become one line on stderr and
exit code 2; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help). The one table of subcommands.
COMMANDS = {
    "body": ("inference.body.cli", "body models: build the open body, convert SMPL files"),
    "fit": ("inference.photo", "photo to SMPL: detect, (regress,) fit; writes a BodyFit JSON"),
    "pifu": ("inference.pifu.cli", "photo to clothed, coloured mesh with PIFu's released checkpoints"),
    "video": ("inference.video", "video to SMPL motion: track one person, temporal fit; writes an AMASS-style .npz"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m inference",
        description="BodyRig inference: photos and videos to rigged SMPL bodies (no Blender needed).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        mod = importlib.import_module(module)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv=None) -> int:
    from .errors import BodyRigError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except BodyRigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
