"""A video's chunk fits (inference.sequence_fit.fit_chunk), in a worker process beside the tracker, or in process.

    fitter = ChunkFitter(data, device, cam, fps, fit_options, temporal, parallel=True)  # the worker starts here
    fitter.submit(a, b, keypoints2d, world, observed, init_pose, fresh)   # chunks in order; fresh: no previous pose
    for a, b, res in fitter.ready(): ...         # finished chunks, in order (block=True: wait for all submitted)
    fitter.close()                               # kill and reap a worker still running

Why a process: on a CPU the fits (~120 Adam steps per 32-frame chunk, one torch thread: ~0.7 s CPU per chunk of
the open body) take well over half as long as tracking the frames with MediaPipe (~1 s per 32 frames), and both
are Python that holds the GIL, so a thread overlapped them badly
(it was slower). A second process on a second core runs the fits while this one tracks; its start-up (imports,
the body model) also overlaps MediaPipe's. Each chunk starts from the previous chunk's last pose and shape,
so the worker fits the chunks strictly in the order given and keeps that state itself (`fresh` drops the pose
where the person was lost, as the serial path does); results come back in order. The same function
(`fit_job`) fits a chunk in both places, on the same body data and options with one torch thread, so the
motion is the serial one (tests/e2e/test_video_cli.py compares them; bench/RESULTS.md, "Video speed on a real
clip", has the timings).

Used only where it pays and is safe (`worker_usable`): a CPU fit, at least two cores for this process, a clip
of several chunks, and a real Python to spawn (inside Blender sys.executable is Blender: stay in process).
A BodyRigError in the worker is raised here as it came. A worker that dies or fails otherwise (a bug, a broken
pipe) is killed and reaped, and the chunks it had not returned are fitted here, in order, from the last state
it returned, so the result and any error are exactly the serial ones, only later. The worker ignores SIGINT
(a terminal's Ctrl-C goes to the whole group: the parent decides) and exits when its pipe closes; `close()`
(the parent's finally, on an error or an interrupt) kills and reaps it, so no process is left behind.
"""

from __future__ import annotations

import os
import signal
import sys
from collections import deque

MIN_CHUNKS = 3  # fewer chunks than this: the worker's start-up (~2 s of imports) is not won back


CPU_SHARE_ENV = "BODYRIG_CPU_SHARE"  # set by a parent that runs several of us side by side (scripts/batch.py)


def cpus_available() -> int:
    """CPU cores this process may run on: its affinity, cut to its share when a parent running several BodyRig
    processes side by side says so (CPU_SHARE_ENV; a batch's workers would otherwise each start a fit worker)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    share = os.environ.get(CPU_SHARE_ENV, "")
    return max(1, min(cores, int(share))) if share.isdigit() else cores


def worker_usable(frames: int, chunk_size: int, device) -> bool:
    """Whether a worker process pays for `frames` frames in chunks of `chunk_size` on `device`, and can be spawned."""
    exe = os.path.basename(sys.executable or "").lower()
    # a spawned child first re-runs the parent's main script from its file: a script read from standard input
    # ("<stdin>") has none, and the child would die with a traceback on the user's terminal before the refit
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    return (str(device) == "cpu" and cpus_available() >= 2 and frames >= MIN_CHUNKS * chunk_size
            and "bpy" not in sys.modules and exe.startswith("python")
            and (main_file is None or os.path.isfile(main_file)))


def fit_job(model, state: dict, job: dict, cam, fps, fit_options, temporal):
    """Fit one chunk (job: keypoints2d, world, observed, init_pose, fresh) from `state` (betas, prev), updating it
    → inference.sequence_fit.ChunkFit. The one chunk fit of both the worker and the in-process path."""
    from .device import small_work_threads
    from .sequence_fit import fit_chunk

    if job["fresh"]:
        state["prev"] = None
    with small_work_threads(1):  # the chunk's many tiny ops: torch's threads cost more than they save
        res = fit_chunk(model, job["keypoints2d"], cam, job["world"], job["observed"], fps,
                        init_pose=job["init_pose"], betas=state["betas"],
                        prev=state["prev"] if temporal else None, fit_options=fit_options, temporal=temporal)
    state["betas"] = res.betas
    state["prev"] = (res.pose[-1], res.transl[-1])
    return res


def _worker(conn, cam, fps, fit_options, temporal):
    """The worker's main: quiet on any failure (no traceback on the user's terminal: the parent refits)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent decides
    try:
        _serve(conn, cam, fps, fit_options, temporal)
    except BaseException:  # noqa: BLE001 - the parent sees the pipe close and fits in process
        os._exit(1)


def _serve(conn, cam, fps, fit_options, temporal):
    """Receive the body data, build the model, then fit jobs in order until the pipe closes."""
    import torch

    from .body.load import body_model
    from .errors import BodyRigError

    try:
        data = conn.recv()
    except (EOFError, OSError):
        return
    model = body_model(data, torch.device("cpu"))
    state = {"betas": None, "prev": None}
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):  # the parent is gone or done
            return
        if job is None:
            return
        try:
            res = fit_job(model, state, job, cam, fps, fit_options, temporal)
            conn.send(("ok", res))
        except BodyRigError as exc:
            conn.send(("error", exc))
        except Exception:  # noqa: BLE001 - a bug: the parent refits here and meets it itself
            conn.send(("failed", None))
            return


class WorkerLost(Exception):
    """The worker gave no usable answer (it died, or failed with something other than a BodyRigError)."""


class ChunkFitter:
    """The chunk fits of one video, in order (see the module docstring). `in_worker`: a worker does them now."""

    def __init__(self, data, device, cam, fps, fit_options, temporal: bool, parallel: bool = False):
        self.data, self.device = data, device
        self.cam, self.fps, self.fit_options, self.temporal = cam, fps, fit_options, temporal
        self.state = {"betas": None, "prev": None}  # after the last chunk returned, in order
        self._pending = deque()  # (a, b, job) submitted, not returned
        self._proc = self._conn = self._sender = None
        if parallel:
            self._start()

    @property
    def in_worker(self) -> bool:
        return self._proc is not None

    @property
    def worker_pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _start(self) -> None:
        import multiprocessing as mp
        import threading

        ctx = mp.get_context("spawn")  # a fresh interpreter: no copy of MediaPipe's or torch's threads
        parent, child = ctx.Pipe()
        try:
            proc = ctx.Process(target=_worker, args=(child, self.cam, self.fps, self.fit_options, self.temporal),
                               daemon=True, name="bodyrig-fit")
            proc.start()
        except Exception:  # noqa: BLE001 - no worker: fit in process
            parent.close()
            return
        finally:
            child.close()
        self._proc, self._conn = proc, parent
        # The body data (~80 MB for the open body) goes through the pipe as the worker reads it, while this
        # process goes on (the write waits for the reader, without the GIL); jobs are sent after it (_send).
        self._sender = threading.Thread(target=self._send_data, daemon=True, name="bodyrig-fit-data")
        self._sender.start()

    def _send_data(self) -> None:
        try:
            self._conn.send(self.data)
        except Exception:  # noqa: BLE001 - a broken pipe: the first job's send or answer finds the worker gone
            pass

    @property
    def model(self):
        """The body model for fitting in process (the same cached one as the caller's, inference.body.load)."""
        from .body.load import body_model

        return body_model(self.data, self.device)

    def submit(self, a: int, b: int, keypoints2d, world, observed, init_pose=None, fresh: bool = False) -> None:
        """Queue frames a..b-1 as one chunk, after those already queued. fresh: the person was lost before it."""
        job = {"keypoints2d": keypoints2d, "world": world, "observed": observed, "init_pose": init_pose,
               "fresh": bool(fresh)}
        self._pending.append((a, b, job))
        if self._proc is not None:
            if self._sender is not None:
                self._sender.join()
                self._sender = None
            try:
                self._conn.send(job)
            except (OSError, ValueError):  # a broken pipe: the worker is gone
                self._lose_worker()

    def ready(self, block: bool = False):
        """Yield (a, b, ChunkFit) for finished chunks, in order; block: until every submitted chunk is done."""
        while self._pending:
            if self._proc is not None:
                try:
                    if not block and not self._conn.poll():
                        return
                    res = self._receive()
                except WorkerLost:
                    self._lose_worker()
                    continue
                a, b, _ = self._pending.popleft()
                self.state["betas"] = res.betas
                self.state["prev"] = (res.pose[-1], res.transl[-1])
            else:
                a, b, job = self._pending[0]
                res = fit_job(self.model, self.state, job, self.cam, self.fps, self.fit_options, self.temporal)
                self._pending.popleft()
            yield a, b, res

    def _receive(self):
        try:
            kind, value = self._conn.recv()
        except (EOFError, OSError, ValueError) as exc:  # died; or an answer that did not unpickle
            raise WorkerLost() from exc
        except Exception as exc:  # noqa: BLE001 - an unreadable answer
            raise WorkerLost() from exc
        if kind == "error":
            raise value
        if kind != "ok":
            raise WorkerLost()
        return value

    def _lose_worker(self) -> None:
        """Kill and reap the worker; the chunks it did not return are fitted here from the last returned state."""
        self.close()

    def close(self) -> None:
        """Kill and reap a worker still running (no process is left behind); later chunks are fitted here."""
        proc, conn, sender = self._proc, self._conn, self._sender
        self._proc = self._conn = self._sender = None
        if proc is not None:
            if proc.is_alive():
                proc.kill()
            proc.join()
        if sender is not None:
            sender.join()  # its write ends with the reader gone
        if conn is not None:
            conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
