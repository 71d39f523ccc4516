"""One background thread that runs submitted jobs in order: the video's fit beside its tracking.

The video loop's two halves use different cores' worth of work: MediaPipe's tracking runs in its own native
threads (the Python thread only waits, GIL released), the chunk fit is torch on one thread. Run in turn they add
up; with the fit here they overlap (bench/RESULTS.md, "Video speed on a real clip"). Jobs run one at a time in
submission order, so each sees what the jobs before it left, exactly as if they had been called in turn.

    worker = OrderedWorker()
    worker.submit(job)     # runs later in the worker thread; raises the first job's error, if one failed
    worker.finish()        # waits for every job; raises the first error (BaseException too: Ctrl-C, Cancelled)
    worker.stop()          # on the way out (an error, an interrupt): drops the jobs not started, waits for the
                           # running one (its results stay whole), never raises
"""

from __future__ import annotations

import queue
import threading


class OrderedWorker:
    def __init__(self, name: str = "bodyrig-worker"):
        self._jobs: queue.Queue = queue.Queue()
        self._error: BaseException | None = None
        self._dropping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if self._error is not None or self._dropping:
                continue  # after a failure or a stop nothing more runs (later jobs build on earlier ones)
            try:
                job()
            except BaseException as exc:  # noqa: BLE001 - handed to the submitting thread
                self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            self._dropping = True
            raise error

    def submit(self, job) -> None:
        self._raise()
        self._jobs.put(job)

    def finish(self) -> None:
        self._jobs.put(None)
        self._thread.join()
        self._raise()

    def stop(self) -> None:
        self._dropping = True
        self._jobs.put(None)
        self._thread.join()
