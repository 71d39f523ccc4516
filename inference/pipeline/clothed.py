"""Photo → clothed mesh: the body fit and PIFu's surface (the one wiring of these stages)."""

from __future__ import annotations

from dataclasses import dataclass

from .photo import PhotoFit, fit_photo
from .settings import Settings


@dataclass(frozen=True)
class ClothedResult:
    """photo: the PhotoFit the mesh is bound with (None when only the mesh was asked for); mesh: PIFu's
    reconstruction (inference.pifu.reconstruct: vertices in its [-1,1] box, faces, colours, crop)."""

    photo: PhotoFit | None
    mesh: object


def require_pifu(settings: Settings) -> None:
    """ModelFileError unless both PIFu checkpoints are set (before any work starts)."""
    from ..errors import ModelFileError

    if not (settings.pifu_net_g and settings.pifu_net_c):
        raise ModelFileError("PIFu needs its net_G and net_C checkpoints: set both (preferences, or --net-g/--net-c)")


def clothed_mesh(image, settings: Settings, with_fit: bool = True, progress=None) -> ClothedResult:
    """PIFu's clothed, coloured surface of the person in `image` (a path or (H,W,3) uint8 RGB), and with
    `with_fit` the body fit it is bound with. progress: optional callable(done, total, stage) (inference.progress),
    here in 100 steps."""
    from ..pifu.reconstruct import reconstruct
    from ..progress import silent, span

    require_pifu(settings)
    report = progress or silent
    photo = None
    if with_fit:
        photo = fit_photo(image, settings, progress=span(report, 0, 30, 100))
    report(30, 100, "reconstructing the clothed surface")
    mesh = reconstruct(image, settings.pifu_net_g, settings.pifu_net_c, device=settings.device)
    report(100, 100, "done")
    return ClothedResult(photo=photo, mesh=mesh)
