"""Stop signals for the CLI and the batch (inference.interrupts): the first SIGINT/SIGTERM stops the work, later
ones are ignored, a signal during a write (or a polled loop) waits for it, a swallowed one is raised again once,
and the exit code names the first signal."""

import gc
import os
import signal
import sys

import pytest

from inference.interrupts import (Interrupted, held, raise_pending, stop_exit_code, stop_requested,
                                  stop_signals)


def _signal_self(sig):
    os.kill(os.getpid(), sig)
    for _ in range(1000):  # Python runs the handler at the next bytecode boundary
        pass


@pytest.mark.parametrize("first, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_first_signal_stops_later_ones_are_ignored(first, code):
    before = signal.getsignal(signal.SIGINT)
    with stop_signals():
        with pytest.raises(Interrupted) as stopped:
            _signal_self(first)
        assert stopped.value.exit_code == code and isinstance(stopped.value, KeyboardInterrupt)
        _signal_self(signal.SIGINT)  # the user presses Ctrl-C again while the partial result is written
        _signal_self(signal.SIGTERM)
        assert stop_exit_code() == code
    # once stopping, the process stays deaf to them (a late Ctrl-C must not break the exit)
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    signal.signal(signal.SIGINT, before)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def test_a_signal_during_a_write_waits_for_it_and_without_one_handlers_come_back():
    before = signal.getsignal(signal.SIGINT)
    with stop_signals():
        assert stop_exit_code() is None
        done = False
        with held():
            _signal_self(signal.SIGINT)
            done = True  # not interrupted
        assert done and stop_exit_code() == 130
    signal.signal(signal.SIGINT, before)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with stop_signals():
        pass
    assert signal.getsignal(signal.SIGINT) == before  # no signal: the previous handler is back


def _restore(before_int):
    signal.signal(signal.SIGINT, before_int)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class _SignalsInDel:
    """A signal arriving in __del__: Python cannot propagate the Interrupted from there (it swallows it, like
    one arriving in an import lock's weakref callback) and hands it to sys.unraisablehook instead."""

    def __del__(self):
        _signal_self(signal.SIGTERM)


def test_a_swallowed_stop_is_not_printed_and_raise_pending_raises_it_once(capsys):
    before = signal.getsignal(signal.SIGINT)
    with stop_signals():
        raise_pending()  # no signal yet: nothing to raise
        obj = _SignalsInDel()
        del obj
        gc.collect()
        assert stop_requested() and stop_exit_code() == 143  # it came, but its raise went nowhere
        with pytest.raises(Interrupted) as stopped:
            raise_pending()
        assert stopped.value.exit_code == 143
        raise_pending()  # once: the work has been told
    assert "Interrupted" not in capsys.readouterr().err  # the unraisablehook hid the swallowed one
    _restore(before)


def test_the_unraisablehook_is_restored_and_still_reports_other_errors():
    before_hook, before = sys.unraisablehook, signal.getsignal(signal.SIGINT)
    seen = []

    def record(unraisable):
        seen.append(unraisable)

    sys.unraisablehook = record
    try:
        with stop_signals():
            class Broken:
                def __del__(self):
                    raise ValueError("a real bug")
            obj = Broken()
            del obj
            gc.collect()
        assert [type(u.exc_value) for u in seen] == [ValueError]
        assert sys.unraisablehook is record
    finally:
        sys.unraisablehook = before_hook
        _restore(before)


def test_a_polling_loop_under_held_stops_without_a_raise_then_raise_pending_delivers_it():
    """The Ray engine's use: its loop must not be interrupted mid-call; it polls, then the caller raises."""
    before = signal.getsignal(signal.SIGINT)
    with stop_signals():
        # a library (ray.init) replaced the SIGTERM handler: held() makes the signal ours for the loop
        def library_handler(signum, frame):
            raise SystemExit(signum)

        signal.signal(signal.SIGTERM, library_handler)
        turns = 0
        with held():
            while not stop_requested():
                turns += 1
                if turns == 3:
                    _signal_self(signal.SIGTERM)
                assert turns < 10, "the loop never saw the signal"
            _signal_self(signal.SIGINT)  # a second one while cancelling: ignored
        assert turns == 3 and stop_exit_code() == 143
        assert signal.getsignal(signal.SIGTERM) is library_handler  # what was there comes back after the block
        with pytest.raises(Interrupted) as stopped:
            raise_pending()
        assert stopped.value.exit_code == 143
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN  # stopping: deaf until the exit
    _restore(before)
