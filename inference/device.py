"""Device choice: one place that turns "auto" | "cpu" | "cuda[:N]" into a torch.device and says why; and
`small_work_threads`, torch's CPU threads for work made of many tiny ops."""

import contextlib
import threading

from .errors import DeviceError


def resolve_device(name: str = "auto"):
    """Return a `torch.device` for `name`; "auto" picks CUDA when present, else CPU.

    Raises DeviceError when CUDA is asked for and is not usable, naming the reason.
    """
    import torch

    name = (name or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"CUDA was requested but is not available: {cuda_status()}")
        return torch.device(name)
    raise DeviceError(f"unknown device {name!r}: use auto, cpu or cuda")


def cuda_status() -> str:
    """A one-line description of the GPU found, or of why CUDA is unavailable."""
    import torch

    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        return f"{props.name}, {props.total_memory / 2**30:.1f} GiB"
    if torch.version.cuda is None:
        return "this PyTorch build has no CUDA support (CPU-only wheel)"
    return "no CUDA device or driver was found"


# torch's intra-op threads pay off for big tensors (HMR, PIFu) but cost more than they save on the fit's tiny
# ops: on a 2-core machine 200 Adam steps took 8.9 s with 2 threads and 1.6 s with one (bench/RESULTS.md).
# torch.set_num_threads is process-wide, so nested or concurrent users share one saved value (a count).
_SMALL_WORK = {"depth": 0, "saved": None}
_SMALL_WORK_LOCK = threading.Lock()


@contextlib.contextmanager
def small_work_threads(threads: int = 1):
    """Run the body with torch limited to `threads` intra-op threads (for many small ops, e.g. the fit's
    optimisation); the process's previous setting comes back when the last such block exits, even on error."""
    import torch

    with _SMALL_WORK_LOCK:
        if _SMALL_WORK["depth"] == 0:
            _SMALL_WORK["saved"] = torch.get_num_threads()
            torch.set_num_threads(max(1, min(int(threads), _SMALL_WORK["saved"])))
        _SMALL_WORK["depth"] += 1
    try:
        yield
    finally:
        with _SMALL_WORK_LOCK:
            _SMALL_WORK["depth"] -= 1
            if _SMALL_WORK["depth"] == 0:
                torch.set_num_threads(_SMALL_WORK["saved"])
