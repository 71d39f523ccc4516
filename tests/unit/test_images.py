"""inference.images: formats, EXIF orientation and focal length, odd modes, bad input.

References are independent of Pillow's decoding path where possible: OpenCV's own reader (which applies EXIF
orientation itself) and arrays we wrote ourselves.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from inference.errors import BadInputError
from inference.images import downscale_for_detection, load_image


def _pattern(h=48, w=64) -> np.ndarray:
    """An asymmetric RGB test card (orientation mistakes show up as large errors)."""
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([x * 255 // (w - 1), y * 255 // (h - 1), ((x // 8 + y // 8) % 2) * 200], -1)
    rgb[:10, :12] = (255, 0, 0)  # a red block in the top-left corner
    return rgb.astype(np.uint8)


@pytest.mark.parametrize("ext", ["png", "bmp", "tiff", "webp", "jpg"])
def test_formats_decode_like_opencv(tmp_path, ext):
    import cv2
    from PIL import Image as PILImage

    path = tmp_path / f"card.{ext}"
    opts = {"lossless": True} if ext == "webp" else {"quality": 95} if ext == "jpg" else {}
    PILImage.fromarray(_pattern()).save(path, **opts)
    img = load_image(path)
    ref = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert img.rgb.dtype == np.uint8 and img.rgb.shape == (48, 64, 3)
    assert img.original_size == (64, 48) and img.path == path
    tol = 3 if ext == "jpg" else 0  # JPEG decoders may differ by a rounding step
    assert np.abs(img.rgb.astype(int) - ref.astype(int)).max() <= tol
    if ext != "jpg":
        assert np.array_equal(img.rgb, _pattern())


def test_bytes_input_equals_path_input(tmp_path):
    from PIL import Image as PILImage

    path = tmp_path / "card.png"
    PILImage.fromarray(_pattern()).save(path)
    a, b = load_image(path), load_image(path.read_bytes())
    assert b.path is None and np.array_equal(a.rgb, b.rgb)


@pytest.mark.parametrize("orientation,rot_k,flip", [(3, 2, False), (6, -1, False), (8, 1, False), (2, 0, True)])
def test_exif_orientation_applied(tmp_path, orientation, rot_k, flip):
    import cv2
    from PIL import Image as PILImage

    stored = _pattern()
    exif = PILImage.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "oriented.jpg"
    PILImage.fromarray(stored).save(path, quality=100, subsampling=0, exif=exif)
    img = load_image(path)
    # The EXIF spec's meaning of the tag, applied to the array we stored.
    expected = np.fliplr(stored) if flip else np.rot90(stored, k=rot_k)
    assert img.rgb.shape == expected.shape
    assert img.original_size == (expected.shape[1], expected.shape[0])
    assert np.abs(img.rgb.astype(int) - expected.astype(int)).mean() < 4
    # OpenCV applies EXIF orientation on its own: the same upright image.
    ref = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    assert np.abs(img.rgb.astype(int) - ref.astype(int)).max() <= 3


def test_exif_focal_from_35mm_equivalent(tmp_path):
    from PIL import Image as PILImage

    exif = PILImage.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8769)[0xA405] = 28  # FocalLengthIn35mmFilm
    path = tmp_path / "f35.jpg"
    PILImage.fromarray(_pattern(300, 400)).save(path, exif=exif)
    img = load_image(path)
    # 28 mm on a 36x24 frame: the diagonal field of view is 2*atan(43.27/2/28); same view over 500 px.
    fov = 2 * math.atan(math.hypot(36, 24) / 2 / 28)
    assert img.exif_focal_px == pytest.approx(250 / math.tan(fov / 2), rel=1e-6)


def test_exif_focal_from_focal_plane_resolution(tmp_path):
    from PIL import Image as PILImage

    exif = PILImage.Exif()
    ifd = exif.get_ifd(0x8769)
    ifd[0x920A] = 4.5  # FocalLength, mm
    ifd[0xA20E] = 2000.0  # FocalPlaneXResolution, pixels per unit
    ifd[0xA210] = 3  # unit: centimetre → 200 px per mm
    ifd[0xA002] = 800  # the capture was 800 px wide; this file is 400 px wide
    path = tmp_path / "fplane.jpg"
    PILImage.fromarray(_pattern(300, 400)).save(path, exif=exif)
    assert load_image(path).exif_focal_px == pytest.approx(4.5 * 200 * 0.5)


def test_no_exif_gives_no_focal(tmp_path):
    from PIL import Image as PILImage

    path = tmp_path / "plain.png"
    PILImage.fromarray(_pattern()).save(path)
    assert load_image(path).exif_focal_px is None


def test_grayscale_and_palette(tmp_path):
    from PIL import Image as PILImage

    grey = _pattern()[..., 0]
    PILImage.fromarray(grey, "L").save(tmp_path / "g.png")
    img = load_image(tmp_path / "g.png")
    assert img.rgb.shape == (48, 64, 3) and all(np.array_equal(img.rgb[..., c], grey) for c in range(3))

    pal = PILImage.fromarray(_pattern()).quantize(colors=16)
    pal.save(tmp_path / "p.png")
    expected = np.asarray(pal.convert("RGB"))
    assert np.array_equal(load_image(tmp_path / "p.png").rgb, expected)


def test_rgba_composited_on_white(tmp_path):
    from PIL import Image as PILImage

    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, :15, 3] = 255  # left half opaque red, right half fully transparent
    rgba[:, 15:, 3] = 0
    rgba[:5, :, 3] = 128  # a half-transparent top band
    PILImage.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = load_image(tmp_path / "a.png").rgb.astype(int)
    assert out[10, 5].tolist() == [200, 0, 0]
    assert out[10, 25].tolist() == [255, 255, 255]
    # alpha 128: half red over white.
    assert np.allclose(out[2, 5], [200 * 128 / 255 + 255 * 127 / 255, 255 * 127 / 255, 255 * 127 / 255], atol=1.5)


def test_16bit_scaled_not_clipped(tmp_path):
    import cv2

    g16 = np.linspace(0, 65535, 48 * 64).reshape(48, 64).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "g16.png"), g16)
    cv2.imwrite(str(tmp_path / "g16.tif"), g16)
    rgb16 = np.stack([g16, g16[::-1], 65535 - g16], -1)
    cv2.imwrite(str(tmp_path / "rgb16.png"), rgb16[..., ::-1])  # OpenCV writes BGR
    for name in ("g16.png", "g16.tif"):
        out = load_image(tmp_path / name).rgb
        assert np.abs(out[..., 0].astype(int) - g16 / 257.0).max() <= 1.0
    out = load_image(tmp_path / "rgb16.png").rgb
    assert np.abs(out.astype(int) - rgb16 / 257.0).max() <= 1.0


def test_bad_inputs_raise_one_sentence(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.png").write_text("this is not an image")
    from PIL import Image as PILImage

    PILImage.fromarray(_pattern(200, 200)).save(tmp_path / "full.jpg", quality=90)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    cases = {
        tmp_path / "missing.jpg": "not found",
        tmp_path / "empty.jpg": "empty",
        tmp_path / "text.png": "not an image",
        tmp_path: "not a file",
        tmp_path / "cut.jpg": "truncated",
    }
    for path, words in cases.items():
        with pytest.raises(BadInputError, match=words) as info:
            load_image(path)
        assert "\n" not in str(info.value)
    with pytest.raises(BadInputError, match="empty"):
        load_image(b"")
    with pytest.raises(BadInputError):
        load_image(12345)


def test_downscale_for_detection():
    big = np.zeros((3000, 2000, 3), np.uint8)
    big[1500:1600, 1000:1100] = 255
    small, scale = downscale_for_detection(big, max_side=1280)
    assert max(small.shape[:2]) == 1280 and scale == pytest.approx(1280 / 3000)
    ys, xs = np.nonzero(small[..., 0] > 127)
    # The white square's centre maps back to the full image within a pixel of the small image.
    assert abs(xs.mean() / scale - 1050) < 1 / scale and abs(ys.mean() / scale - 1550) < 1 / scale
    tiny = np.zeros((100, 50, 3), np.uint8)
    same, s1 = downscale_for_detection(tiny)
    assert same is tiny and s1 == 1.0
