"""Stop signals for the CLI (inference.interrupts): the first SIGINT/SIGTERM stops the work, later ones are
ignored, a signal during a write waits for it, and the exit code names the first signal."""

import os
import signal

import pytest

from inference.interrupts import Interrupted, stop_exit_code, stop_signals, writing


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
        with writing():
            _signal_self(signal.SIGINT)
            done = True  # not interrupted
        assert done and stop_exit_code() == 130
    signal.signal(signal.SIGINT, before)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with stop_signals():
        pass
    assert signal.getsignal(signal.SIGINT) == before  # no signal: the previous handler is back
