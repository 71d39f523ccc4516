"""inference.ordered_worker: jobs in order, errors handed back, a stop that leaves the running job whole; and the
video fit run beside the tracking gives the motion of running them in turn."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from inference.ordered_worker import OrderedWorker

CLIP = Path(__file__).resolve().parents[1] / "e2e" / "data" / "gt_plain.mp4"


def test_jobs_run_in_order_in_another_thread():
    seen, threads = [], set()
    w = OrderedWorker()
    for i in range(20):
        w.submit(lambda i=i: (time.sleep(0.001 * (i % 3)), seen.append(i), threads.add(threading.get_ident())))
    w.finish()
    assert seen == list(range(20)) and threading.get_ident() not in threads


@pytest.mark.parametrize("error", [ValueError("bad chunk"), KeyboardInterrupt()])
def test_a_failed_job_is_raised_in_the_submitting_thread_and_later_jobs_do_not_run(error):
    ran = []

    def fail():
        raise error

    w = OrderedWorker()
    w.submit(fail)
    w.submit(lambda: ran.append(1))
    with pytest.raises(type(error)):
        w.finish()
    assert ran == []
    w.stop()  # after a failure: returns, raises nothing


def test_stop_waits_for_the_running_job_and_drops_the_rest():
    started, done, dropped = threading.Event(), [], []
    w = OrderedWorker()
    w.submit(lambda: (started.set(), time.sleep(0.2), done.append(1)))
    w.submit(lambda: dropped.append(1))
    assert started.wait(5)
    w.stop()
    assert done == [1] and dropped == []


class _InTurn:
    """OrderedWorker's interface, each job run at once in the caller's thread (the old, serial loop)."""

    def __init__(self, *_):
        pass

    def submit(self, job):
        job()

    def finish(self):
        pass

    def stop(self):
        pass


def test_video_fit_beside_tracking_gives_the_serial_motion(monkeypatch):
    from inference import ordered_worker
    from inference.video import fit_video

    if not CLIP.is_file():
        pytest.skip("no test clip")
    kwargs = dict(body="tiny", device="cpu", end=2.0, chunk_size=16)
    overlapped = fit_video(CLIP, **kwargs)
    monkeypatch.setattr(ordered_worker, "OrderedWorker", _InTurn)
    serial = fit_video(CLIP, **kwargs)
    assert overlapped.num_frames == serial.num_frames >= 50
    for key in ("pose", "transl", "betas", "detected"):
        np.testing.assert_array_equal(getattr(overlapped, key), getattr(serial, key), err_msg=key)
