"""Stop signals for the command-line tools: the first SIGINT or SIGTERM stops the work, any later ones are
ignored, so that what was done can still be written however often the user presses Ctrl-C.

    with stop_signals():          # in the CLI's main
        ... work ...              # the first signal raises Interrupted (a KeyboardInterrupt)
        with writing():           # a signal here is recorded, not raised: the file is finished
            save(...)
    stop_exit_code()              # 130 after SIGINT, 143 after SIGTERM, None when no signal came

Without `stop_signals` (in Blender, in tests) nothing changes: Ctrl-C is Python's KeyboardInterrupt.
"""

from __future__ import annotations

import contextlib
import signal
import threading

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}  # 128 + the signal's number, as shells report it

_state = {"signum": None, "writing": 0}


class Interrupted(KeyboardInterrupt):
    """The work was stopped by a signal; `exit_code` is 130 (SIGINT) or 143 (SIGTERM)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum, self.exit_code = signum, EXIT_CODES.get(signum, 130)


def _handler(signum, frame):  # noqa: ARG001 - the signal module's signature
    if _state["signum"] is not None:
        return  # already stopping: a second Ctrl-C must not interrupt the writing of what was done
    _state["signum"] = signum
    if not _state["writing"]:
        raise Interrupted(signum)


@contextlib.contextmanager
def stop_signals():
    """Handle SIGINT and SIGTERM as described above while the block runs (main thread only; elsewhere this
    does nothing), then put the previous handlers back - unless a signal came: then both stay ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in EXIT_CODES}
    _state.update(signum=None, writing=0)
    for s in EXIT_CODES:
        signal.signal(s, _handler)
    try:
        yield
    finally:
        # Once stopping, stay deaf: a late Ctrl-C must not raise during the interpreter's shutdown (torch's
        # atexit hooks) and turn exit 130 into a death by signal. Otherwise the old handlers come back.
        for s, h in previous.items():
            signal.signal(s, signal.SIG_IGN if _state["signum"] is not None else h)


@contextlib.contextmanager
def writing():
    """A signal arriving while the block runs does not interrupt it; it is kept for stop_exit_code()."""
    _state["writing"] += 1
    try:
        yield
    finally:
        _state["writing"] -= 1


def stop_exit_code() -> int | None:
    """130 or 143 when a stop signal came (the first one decides), else None."""
    signum = _state["signum"]
    return None if signum is None else EXIT_CODES.get(signum, 130)
