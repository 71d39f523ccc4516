"""Still images in: decode any common format into upright 8-bit RGB, with the EXIF focal length in pixels.

`load_image(path_or_bytes) -> Image`; `downscale_for_detection(rgb, max_side) -> (small, scale)`.
Decoding uses Pillow (JPEG, PNG, WebP, BMP, TIFF, ...). Every unusable input raises BadInputError.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import BadInputError

# Diagonal of a 36 x 24 mm frame: "35 mm equivalent" focal lengths refer to its angle of view.
_FULL_FRAME_DIAGONAL_MM = math.hypot(36.0, 24.0)
# EXIF FocalPlaneResolutionUnit → millimetres per unit (2 = inch, 3 = cm, 4 = mm, 5 = micrometre).
_UNIT_MM = {2: 25.4, 3: 10.0, 4: 1.0, 5: 0.001}
_TAG_ORIENTATION = 0x0112
_TAG_EXIF_IFD = 0x8769
_TAG_FOCAL_LENGTH = 0x920A
_TAG_FOCAL_35MM = 0xA405
_TAG_FOCAL_PLANE_XRES = 0xA20E
_TAG_FOCAL_PLANE_UNIT = 0xA210
_TAG_EXIF_WIDTH = 0xA002


@dataclass
class Image:
    """A decoded photo, upright (EXIF orientation applied).

    rgb: (H, W, 3) uint8. path: the file it came from (None for bytes). exif_focal_px: focal length in pixels
    of this image's resolution, from EXIF when the file says enough (else None). original_size: (W, H) of
    the decoded, upright image in pixels, which is the frame every pixel coordinate refers to. notes: sentences
    for the user (an EXIF focal length outside the plausible range, which was ignored).
    """

    rgb: np.ndarray
    path: Path | None
    exif_focal_px: float | None
    original_size: tuple[int, int]
    notes: list = field(default_factory=list)

    @property
    def name(self) -> str:
        """A short label for messages."""
        return self.path.name if self.path is not None else "<image bytes>"


def load_image(path_or_bytes) -> Image:
    """Decode a file path (str/Path) or the bytes of an image file into an upright RGB `Image`."""
    from PIL import Image as PILImage
    from PIL import ImageOps, UnidentifiedImageError

    path, data = _read_source(path_or_bytes)
    label = str(path) if path is not None else "the given image bytes"
    try:
        with PILImage.open(io.BytesIO(data)) as im:
            im.load()
            exif = im.getexif()
            focal = _focal_px_from_exif(exif, im.size)
            im = ImageOps.exif_transpose(im)  # no-op without an orientation tag
            rgb = _to_rgb8(im)
    except UnidentifiedImageError:
        raise BadInputError(
            f"{label} is not an image that can be read (expected JPEG, PNG, WebP, BMP or TIFF)."
        ) from None
    except PILImage.DecompressionBombError:
        raise BadInputError(f"{label} is too large to decode safely; resize it below 150 megapixels.") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadInputError(f"{label} is damaged or truncated and cannot be decoded ({exc}).") from None
    h, w = rgb.shape[:2]
    if h == 0 or w == 0:
        raise BadInputError(f"{label} has zero width or height.")
    notes = []
    if focal is not None:
        focal, note = plausible_focal(focal, w, h)
        notes = [note] if note else []
    return Image(rgb=rgb, path=path, exif_focal_px=focal, original_size=(w, h), notes=notes)


def plausible_focal(focal_px: float, width: int, height: int) -> tuple[float | None, str | None]:
    """(focal_px, None) when its 35 mm equivalent lies in inference.limits' FOCAL_35MM_RANGE, else (None, a note
    saying it was ignored): EXIF values such as 65535 would put the person kilometres away."""
    from .limits import FOCAL_35MM_RANGE

    lo, hi = FOCAL_35MM_RANGE
    f35 = focal_px * _FULL_FRAME_DIAGONAL_MM / math.hypot(width, height)
    if math.isfinite(f35) and lo <= f35 <= hi:
        return focal_px, None
    return None, (f"the photo's EXIF focal length ({f35:.0f} mm, 35 mm equivalent) is outside {lo:g}-{hi:g} mm: "
                  "ignored, the default focal length was used (a photo fit estimates one from the body)")


def downscale_for_detection(rgb: np.ndarray, max_side: int = 1280) -> tuple[np.ndarray, float]:
    """Shrink (H, W, 3) so its longer side is at most `max_side` → (small, scale), scale = small / full ≤ 1.

    A pixel coordinate p in `small` is p / scale in the full image. Images already small enough are
    returned as they are with scale 1.0.
    """
    import cv2

    h, w = rgb.shape[:2]
    longest = max(h, w)
    if longest <= max_side:
        return rgb, 1.0
    scale = max_side / longest
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)  # area averaging: no aliasing
    return small, scale


def _read_source(path_or_bytes) -> tuple[Path | None, bytes]:
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        data = bytes(path_or_bytes)
        if not data:
            raise BadInputError("The given image bytes are empty.")
        return None, data
    if not isinstance(path_or_bytes, (str, Path)):
        raise BadInputError(f"Expected an image path or bytes, got {type(path_or_bytes).__name__}.")
    path = Path(path_or_bytes).expanduser()
    if not path.exists():
        raise BadInputError(f"Image file not found: {path}.")
    if not path.is_file():
        raise BadInputError(f"{path} is not a file; choose an image file.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"Image file {path} cannot be read: {exc.strerror or exc}.") from None
    if not data:
        raise BadInputError(f"Image file {path} is empty (0 bytes).")
    return path, data


def _to_rgb8(im) -> np.ndarray:
    """Any Pillow mode → (H, W, 3) uint8; transparency composited on white, 16-bit scaled down."""
    from PIL import Image as PILImage

    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im).astype(np.float64)
        # 16-bit (and integer/float) grey: scale the full range to 0..255 instead of clipping at 255.
        top = 65535.0 if mode.startswith("I") and arr.max(initial=0) > 255 else 255.0
        if mode == "F" and arr.max(initial=0) <= 1.0:
            top = 1.0
        grey = np.clip(np.rint(arr * (255.0 / top)), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))
    if mode == "P" or mode == "PA":
        im = im.convert("RGBA" if ("transparency" in im.info or mode == "PA") else "RGB")
    elif mode == "L" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        white = PILImage.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = PILImage.alpha_composite(white, rgba)
    if im.mode != "RGB":
        im = im.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, RGBX ...
    return np.ascontiguousarray(np.asarray(im, dtype=np.uint8))


def _rational(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return f if math.isfinite(f) and f > 0 else None


def _focal_px_from_exif(exif, size: tuple[int, int]) -> float | None:
    """Focal length in pixels of an image of `size` (W, H) as stored, or None when EXIF lacks it.

    Prefers FocalLengthIn35mmFilm (f35 * image diagonal / 43.27 mm); else FocalLength (mm) times the
    focal-plane resolution (pixels per mm of sensor, rescaled when the image was resized after capture).
    The rotation of EXIF orientation does not change a focal length in pixels.
    """
    if not exif:
        return None
    try:
        sub = exif.get_ifd(_TAG_EXIF_IFD)
    except Exception:  # a malformed EXIF block: no focal, but the image still loads
        sub = {}
    tags = {**dict(exif), **dict(sub)}
    w, h = size
    f35 = _rational(tags.get(_TAG_FOCAL_35MM))
    if f35 is not None:
        return f35 * math.hypot(w, h) / _FULL_FRAME_DIAGONAL_MM
    f_mm = _rational(tags.get(_TAG_FOCAL_LENGTH))
    xres = _rational(tags.get(_TAG_FOCAL_PLANE_XRES))
    unit_mm = _UNIT_MM.get(int(tags.get(_TAG_FOCAL_PLANE_UNIT, 2) or 2))
    if f_mm is None or xres is None or unit_mm is None:
        return None
    px_per_mm = xres / unit_mm
    exif_w = _rational(tags.get(_TAG_EXIF_WIDTH))
    resize = (w / exif_w) if exif_w else 1.0  # ExifImageWidth: the width the resolution refers to
    return f_mm * px_per_mm * resize
