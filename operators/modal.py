"""Long work without freezing Blender: the work runs on a worker thread, every bpy write on the main thread.

`Job` is plain Python (no bpy): it runs `work(progress)` on a thread, collects progress reports and the result
or the exception, and can be cancelled (the next `progress` call inside the work raises `Cancelled`).

`JobOperatorMixin` turns an Operator into a modal one: `start_job(context, work, finish)` starts the thread and a
window-manager timer; each TIMER event updates the status bar and the progress cursor; when the work is done,
`finish(context, result)` builds the scene on the main thread. Esc cancels and leaves the scene as it was,
because nothing is written to the scene before `finish`. Without a window (background mode, tests, batch) the
work runs synchronously in `execute`.
"""

from __future__ import annotations

import threading
import time


class Cancelled(Exception):
    """Raised inside the work by `progress()` after the user pressed Esc."""


class Job:
    """`work(progress) -> result` on a daemon thread.

    progress(fraction=None, message=None) may be called by the work with a fraction in [0, 1] and/or a
    message, in either order (inference callbacks pass `(fraction, message)` or `(message, fraction)`).
    """

    def __init__(self, work, label: str = "BodyRig"):
        self._work = work
        self.label = label
        self.fraction = 0.0
        self.message = ""
        self.result = None
        self.error: BaseException | None = None
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self.started = None

    # ---- worker side
    def progress(self, *args, **kwargs) -> None:
        if self._cancel.is_set():
            raise Cancelled(f"{self.label}: cancelled")
        values = list(args) + list(kwargs.values())
        for value in values:
            if isinstance(value, str):
                self.message = value
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                self.fraction = min(max(float(value), 0.0), 1.0)

    def _run(self) -> None:
        try:
            self.result = self._work(self.progress)
        except BaseException as exc:  # handed to the main thread, which decides what is a user error
            self.error = exc
        finally:
            self._done.set()

    # ---- main-thread side
    def start(self) -> "Job":
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"bodyrig-{self.label}", daemon=True)
        self._thread.start()
        return self

    def run_here(self) -> "Job":
        """Run synchronously on the calling thread (background mode)."""
        self.started = time.monotonic()
        self._run()
        return self

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def status_text(self) -> str:
        text = f"{self.label}: {self.message}" if self.message else f"{self.label}…"
        return f"{text} ({self.fraction:.0%}) — Esc to cancel"


def has_window(context) -> bool:
    import bpy

    return not bpy.app.background and getattr(context, "window", None) is not None


class JobOperatorMixin:
    """Mixin for bpy.types.Operator subclasses whose work is long.

    The subclass calls `return self.start_job(context, work, finish)` from `execute`; `finish(context, result)`
    returns an operator result set. The modal part needs a window; otherwise the job runs synchronously.
    """

    _job: Job | None = None
    _timer = None
    _finish = None

    def start_job(self, context, work, finish, label: str = "BodyRig"):
        self._job = Job(work, label)
        self._finish = finish
        if not has_window(context):
            self._job.run_here()
            return self._conclude(context)
        wm = context.window_manager
        self._job.start()
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.modal_handler_add(self)
        wm.progress_begin(0, 1000)
        self._set_status(context, self._job.status_text())
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        job = self._job
        if event.type == "ESC":
            job.cancel()
            self._end_ui(context)
            self.report({"WARNING"}, f"{job.label}: cancelled; the scene is unchanged")
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        if not job.done:
            context.window_manager.progress_update(int(job.fraction * 1000))
            self._set_status(context, job.status_text())
            return {"RUNNING_MODAL"}
        self._end_ui(context)
        return self._conclude(context)

    def cancel(self, context):  # Blender calls this when the operator is cancelled from outside (file load…)
        if self._job is not None:
            self._job.cancel()
        self._end_ui(context)

    # ---- helpers
    def _conclude(self, context):
        """Main thread: turn the job's outcome into an operator result (errors reported, scene untouched)."""
        from .staging import report_failure

        job = self._job
        if job.error is not None:
            if isinstance(job.error, Cancelled):
                return {"CANCELLED"}
            return report_failure(self, job.error)
        try:
            return self._finish(context, job.result)
        except Exception as exc:
            return report_failure(self, exc)

    def _set_status(self, context, text):
        workspace = getattr(context, "workspace", None)
        if workspace is not None:
            workspace.status_text_set(text)

    def _end_ui(self, context):
        wm = context.window_manager
        if self._timer is not None:
            wm.event_timer_remove(self._timer)
            self._timer = None
            wm.progress_end()
        self._set_status(context, None)
