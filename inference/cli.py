"""`python -m inference`: one entry point whose subcommands live in the modules that do the work.

Each subcommand module provides `add_arguments(parser)` and `run(args) -> int` and must not import torch at
module level, so that `--help` stays fast. Errors of the BodyRigError family, usage errors (argparse) and
failed writes of the output become one line on stderr and exit code 2. The first SIGINT (Ctrl-C) or SIGTERM
stops the work and later ones are ignored (inference.interrupts): a command that keeps partial results writes
them, and the exit code is 130 (SIGINT) or 143 (SIGTERM).

Numbers on the command line are checked by argparse (`number(...)`): a non-finite or out-of-range value is a
usage error. Output paths are checked before the work (inference.fileio.check_output_path) and written through
`write_output`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import math
import sys

# name -> (module, one-line help). The one table of subcommands.
COMMANDS = {
    "body": ("inference.body.cli", "body models: build the open body, convert SMPL files"),
    "fit": ("inference.photo", "photo to SMPL: detect, (regress,) fit; writes a BodyFit JSON"),
    "preview": ("inference.preview", "motion to a PNG sheet: the body over sampled video frames and from the side"),
    "pifu": ("inference.pifu.cli", "photo to clothed, coloured mesh with PIFu's released checkpoints"),
    "video": ("inference.video", "video to SMPL motion: track one person, temporal fit; writes an AMASS-style .npz"),
}


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line (`error: ...`, exit 2) instead of the usage block and the error."""

    def error(self, message):
        self.exit(2, f"error: {self.prog}: {message} (see --help)\n")


def number(kind=float, low=None, high=None, low_open: bool = False):
    """An argparse `type`: a finite `kind` (float or int) in [low, high] (low excluded when low_open)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'a whole number' if kind is int else 'a number'}")
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if low is not None and (value <= low if low_open else value < low):
            raise argparse.ArgumentTypeError(f"{text} must be {'above' if low_open else 'at least'} {low}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"{text} must be at most {high}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


@contextlib.contextmanager
def write_output(path, what: str = "--out", hold_signals: bool = True):
    """The block writes the result to `path`: a stop signal waits until it is done (inference.interrupts; not
    with hold_signals=False, for a block that also does long work), and an OS error (full disk, read-only file
    system, ...) becomes one line, exit 2. The writers are atomic (inference.fileio.atomic_path), so a failed
    write leaves nothing under the final name."""
    from .errors import BadInputError
    from .interrupts import held

    with held() if hold_signals else contextlib.nullcontext():
        try:
            yield
        except OSError as exc:
            why = exc.strerror or str(exc)
            raise BadInputError(f"could not write {path}: {why}; nothing was written there - "
                                f"free some space or choose another {what}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
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

    from .interrupts import stop_exit_code, stop_signals

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    with stop_signals():
        try:
            code = int(args._run(args) or 0)
        except BodyRigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return stop_exit_code() or 130
        return stop_exit_code() or code  # a signal during the final write: the file is whole, still say so
