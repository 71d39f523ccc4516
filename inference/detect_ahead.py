"""Detection started ahead, in a forked child process, while this process imports torch and loads the body.

A fresh `fit` CLI spends ~0.9 s in MediaPipe (import, landmarker, passes) and ~1.5 s importing torch and reading
the body; each is mostly one core's work, so on a machine with a second core they can overlap. A thread could
overlap them little: both halves are mostly Python imports (torch; MediaPipe with matplotlib), which hold the
GIL. A forked child runs on its own (bench/RESULTS.md, "Photo fit speed", has the measurements and their load).

    with DetectAhead(rgb, name, pose_model) as pending:    # the child starts here (or nothing, see below)
        ... import torch, load the body ...
        det = pending.result()                              # inference.detect.detect_person's Detection

The result is detect_person's own (with the mirrored pass when detect.MIRRORED_START, as fit_photo asks),
computed by the same code on the same pixels and sent back through a pipe as plain arrays and JSON (an .npz read
with allow_pickle=False: nothing read from the pipe can run code). Its errors (BodyRigError: no person, bad input,
a missing model) are raised here as they would be in process. Anything else (the child died, a bug, an unreadable
answer) makes `result()` run detect_person here instead, so the behaviour and the error are exactly the serial
ones, only later. The child is used only where
fork is safe: Linux, and a parent that has neither MediaPipe nor torch loaded and runs no other thread (a forked
copy of their threads' state is not safe to use). Elsewhere `result()` simply detects in process. The child takes
Ctrl-C and SIGTERM with the default action (it dies with the process group); leaving the block kills and reaps a
child still running, so none is left behind on an error or an interrupt.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import threading
import time
import warnings

import numpy as np

from .mediapipe_pose import DEFAULT_POSE_MODEL


def fork_usable() -> bool:
    """Whether a child forked now can run MediaPipe safely (see the module docstring)."""
    return (sys.platform.startswith("linux") and hasattr(os, "fork")
            and threading.active_count() == 1 and "mediapipe" not in sys.modules and "torch" not in sys.modules)


def _detect(rgb, name, pose_model):
    from .detect import MIRRORED_START, detect_person

    t0 = time.perf_counter()
    det = detect_person(rgb, name, pose_model=pose_model, mirror_3d=MIRRORED_START)  # as fit_photo asks
    return det, time.perf_counter() - t0


_FIELDS = ("box", "keypoints2d", "world_landmarks", "mask", "world_mirrored")


def encode_answer(kind: str, value) -> bytes:
    """("ok", (Detection, seconds)) or ("error", BodyRigError) → bytes for the pipe: an .npz of the Detection's
    arrays beside one JSON member for the rest (no pickle on either side)."""
    if kind == "error":
        meta, arrays = {"kind": "error", "error": type(value).__name__, "message": str(value)}, {}
    else:
        det, seconds = value
        meta = {"kind": "ok", "seconds": float(seconds), "num_people": int(det.num_people),
                "notes": [str(n) for n in det.notes]}
        arrays = {f: getattr(det, f) for f in _FIELDS if getattr(det, f) is not None}
    buf = io.BytesIO()
    np.savez(buf, meta=np.array(json.dumps(meta)), **arrays)
    return buf.getvalue()


def decode_answer(raw: bytes):
    """encode_answer's bytes → ("ok", (Detection, seconds)) or ("error", BodyRigError); None for anything else
    (a child that died mid-way, an empty or cut-short answer, an error class that is not ours)."""
    from . import errors
    from .detect import Detection

    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {f: z[f] for f in _FIELDS if f in z.files}
        if meta.get("kind") == "error":
            cls = getattr(errors, str(meta.get("error")), None)
            if not (isinstance(cls, type) and issubclass(cls, errors.BodyRigError)):
                return None
            return "error", cls(str(meta.get("message", "")))
        if meta.get("kind") != "ok":
            return None
        det = Detection(**arrays, num_people=int(meta["num_people"]), notes=[str(n) for n in meta["notes"]])
        return "ok", (det, float(meta["seconds"]))
    except Exception:  # noqa: BLE001 - any unreadable answer means the parent detects itself
        return None


class DetectAhead:
    """detect_person(rgb, name, pose_model), started in a child process when that is safe (`fork_usable`).

    `result()` → the Detection (BodyRigError as detect_person raises it); `seconds`: what the detection took
    (in the child, overlapped with the caller's own work); `in_child`: whether a child did it.
    """

    def __init__(self, rgb, name: str = "the image", pose_model: str = DEFAULT_POSE_MODEL):
        self.rgb, self.name, self.pose_model = rgb, name, pose_model
        self.seconds = 0.0
        self.in_child = False
        self._pid = None
        self._read_fd = None
        if fork_usable():
            self._start()

    @property
    def child_pid(self) -> int | None:
        """The child's process id while it runs (None: no child, or it is reaped)."""
        return self._pid

    def _start(self) -> None:
        read_fd, write_fd = os.pipe()
        with warnings.catch_warnings():  # Python 3.12+ warns of any native threads (numpy's BLAS pool, idle here)
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: detect, send, and leave without running the parent's exit handlers
            code = 1
            try:
                os.close(read_fd)
                for s in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(s, signal.SIG_DFL)
                from .errors import BodyRigError

                try:
                    payload = ("ok", _detect(self.rgb, self.name, self.pose_model))
                except BodyRigError as exc:
                    payload = ("error", exc)
                with os.fdopen(write_fd, "wb") as out:
                    out.write(encode_answer(*payload))
                code = 0
            except BaseException:  # noqa: BLE001 - the parent sees no answer and detects itself
                pass
            finally:
                os._exit(code)
        os.close(write_fd)
        self._pid, self._read_fd, self.in_child = pid, read_fd, True

    def _answer(self):
        """The child's (kind, value), or None when it gave no usable answer."""
        try:
            with os.fdopen(self._read_fd, "rb") as pipe:
                self._read_fd = None
                raw = pipe.read()
        except BaseException:  # interrupted while waiting: no child left behind
            self._reap(kill=True)
            raise
        self._reap(kill=False)  # it has sent everything: it is exiting
        return decode_answer(raw)

    def result(self):
        """The Detection of the largest person (raises what detect_person raises)."""
        answer = self._answer() if self._pid is not None else None
        if answer is None:  # no child, or no usable answer from it: the serial path, its behaviour exactly
            self.in_child = False
            det, self.seconds = _detect(self.rgb, self.name, self.pose_model)
            return det
        kind, value = answer
        if kind == "error":
            raise value
        det, self.seconds = value
        return det

    def _reap(self, kill: bool) -> None:
        if self._read_fd is not None:
            os.close(self._read_fd)
            self._read_fd = None
        if self._pid is None:
            return
        if kill:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.waitpid(self._pid, 0)
        except ChildProcessError:
            pass
        self._pid = None

    def close(self) -> None:
        """Kill and reap a child still running (the caller left early: an error or an interrupt)."""
        self._reap(kill=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
