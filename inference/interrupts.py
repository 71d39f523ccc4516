"""Stop signals for the command-line tools and the batch (one home): the first SIGINT or SIGTERM stops the work,
any later ones are ignored, so that what was done can still be written however often the user presses Ctrl-C.

    with stop_signals():          # in a tool's main (main thread only; elsewhere nothing changes)
        ... work ...              # the first signal raises Interrupted (a KeyboardInterrupt)
        raise_pending()           # at a safe point: raise it once if its raise was swallowed where it arrived
        with held():              # a signal here is recorded, not raised: a file is finished, or a loop
            save(...)             #   that must not be interrupted (Ray calls) polls stop_requested()
    stop_exit_code()              # 130 after SIGINT, 143 after SIGTERM, None when no signal came

Python drops an exception raised where it cannot propagate (an import lock's callback, a __del__); such an
Interrupted is not printed, and raise_pending() delivers it. After a signal, the block leaves both ignored.
Without `stop_signals` (in Blender, in tests) nothing changes: Ctrl-C is Python's KeyboardInterrupt.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}  # 128 + the signal's number, as shells report it

_state = {"signum": None, "held": 0, "reraised": False, "active": False}


class Interrupted(KeyboardInterrupt):
    """The work was stopped by a signal; `exit_code` is 130 (SIGINT) or 143 (SIGTERM)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum, self.exit_code = signum, EXIT_CODES.get(signum, 130)


def _handler(signum, frame):  # noqa: ARG001 - the signal module's signature
    if _state["signum"] is not None:
        return  # already stopping: a second Ctrl-C must not interrupt the writing of what was done
    _state["signum"] = signum
    if not _state["held"]:
        raise Interrupted(signum)


@contextlib.contextmanager
def stop_signals():
    """Handle SIGINT and SIGTERM as described above while the block runs (main thread only; elsewhere this
    does nothing), then put the previous handlers back - unless a signal came: then both stay ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in EXIT_CODES}
    previous_hook = sys.unraisablehook

    def hook(unraisable):  # a swallowed Interrupted is not an error to print: raise_pending() delivers it
        if not isinstance(unraisable.exc_value, Interrupted):
            previous_hook(unraisable)

    _state.update(signum=None, held=0, reraised=False, active=True)
    sys.unraisablehook = hook
    for s in EXIT_CODES:
        signal.signal(s, _handler)
    try:
        yield
    finally:
        _state["active"] = False
        sys.unraisablehook = previous_hook
        # Once stopping, stay deaf: a late Ctrl-C must not raise during the interpreter's shutdown (torch's
        # atexit hooks) and turn exit 130 into a death by signal. Otherwise the old handlers come back.
        for s, h in previous.items():
            signal.signal(s, signal.SIG_IGN if _state["signum"] is not None else h)


@contextlib.contextmanager
def held():
    """A signal arriving while the block runs does not interrupt it; it is kept for stop_requested(),
    stop_exit_code() and raise_pending(). Inside stop_signals the handlers are ours for the block even if a
    library replaced them (ray.init sets its own SIGTERM handler); whatever was there comes back after."""
    mine = _state["active"] and threading.current_thread() is threading.main_thread()
    replaced = {s: signal.signal(s, _handler) for s in EXIT_CODES} if mine else {}
    _state["held"] += 1
    try:
        yield
    finally:
        _state["held"] -= 1
        for s, h in replaced.items():
            signal.signal(s, h)


def stop_requested() -> bool:
    """A stop signal came (raised or held)."""
    return _state["signum"] is not None


def raise_pending() -> None:
    """Raise Interrupted if a signal came, once: for a signal held (see held()) or swallowed where it arrived.
    Call it where an Interrupted that did propagate would already have ended the work (between inputs)."""
    if _state["signum"] is not None and not _state["reraised"]:
        _state["reraised"] = True
        raise Interrupted(_state["signum"])


def stop_exit_code() -> int | None:
    """130 or 143 when a stop signal came (the first one decides), else None."""
    signum = _state["signum"]
    return None if signum is None else EXIT_CODES.get(signum, 130)
