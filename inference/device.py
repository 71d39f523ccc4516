"""Device choice: one place that turns "auto" | "cpu" | "cuda[:N]" into a torch.device and says why."""

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
