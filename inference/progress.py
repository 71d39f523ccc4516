"""The one progress-callback signature of `inference`: progress(done: int, total: int, stage: str).

Every long call (fit_keypoints, the pipeline's use cases, fit_video) reports how many of `total` units are done
and what it is doing; callers that show a fraction (Blender's Job: progress(fraction, message)) adapt it once
with `as_fraction`, and nested stages map their own counts onto a span of their caller's with `span`.
"""

from __future__ import annotations


def silent(done: int, total: int, stage: str) -> None:
    """The progress callback for callers that pass none."""


def span(progress, start: int, stop: int, total: int, stage: str | None = None):
    """A callback for a nested stage: its (done, total) becomes start..stop of `total` steps of `progress`
    (with `stage` as the message when given, else the nested stage's own)."""
    def report(done: int, of: int, what: str) -> None:
        progress(start + round((stop - start) * done / max(of, 1)), total, stage or what)
    return report


def as_fraction(progress, unit: str = ""):
    """Adapt a progress(fraction, message) (Blender's Job) to progress(done, total, stage); `unit` names what is
    counted in the message ("track: 32/150 frames")."""
    suffix = f" {unit}" if unit else ""
    return lambda done, total, stage: progress(done / max(total, 1), f"{stage}: {done}/{total}{suffix}")
