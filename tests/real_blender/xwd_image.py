"""Read an X Window Dump (`xwd -root`, TrueColor) into an RGB array, for the real-Blender tier's screenshots."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# The XWDFileHeader: 25 CARD32 fields, big-endian (X11/XWDFile.h).
FIELDS = ("header_size", "file_version", "pixmap_format", "pixmap_depth", "pixmap_width", "pixmap_height",
          "xoffset", "byte_order", "bitmap_unit", "bitmap_bit_order", "bitmap_pad", "bits_per_pixel",
          "bytes_per_line", "visual_class", "red_mask", "green_mask", "blue_mask", "bits_per_rgb",
          "colormap_entries", "ncolors", "window_width", "window_height", "window_x", "window_y",
          "window_bdrwidth")
TRUE_COLOR, DIRECT_COLOR, Z_PIXMAP, COLOR_ENTRY_BYTES = 4, 5, 2, 12


def read_xwd(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB from a 32-bit TrueColor or DirectColor (Xvfb's default) ZPixmap dump.

    DirectColor pixels index the dumped colormap per channel; ValueError for any other kind of dump.
    """
    data = Path(path).read_bytes()
    head = dict(zip(FIELDS, np.frombuffer(data[:100], ">u4").tolist()))
    visual = head["visual_class"]
    if head["file_version"] != 7 or head["pixmap_format"] != Z_PIXMAP or visual not in (TRUE_COLOR, DIRECT_COLOR):
        raise ValueError(f"{path}: not a TrueColor/DirectColor ZPixmap XWD file (version 7), visual {visual}")
    bpp = head["bits_per_pixel"] // 8
    if bpp not in (3, 4):
        raise ValueError(f"{path}: {head['bits_per_pixel']} bits per pixel; only 24 and 32 are read")
    start = head["header_size"] + head["ncolors"] * COLOR_ENTRY_BYTES
    h, w, stride = head["pixmap_height"], head["pixmap_width"], head["bytes_per_line"]
    rows = np.frombuffer(data[start:start + h * stride], np.uint8).reshape(h, stride)
    raw = rows[:, : bpp * w].reshape(h, w, bpp).astype(np.uint32)
    order = range(bpp) if head["byte_order"] == 0 else reversed(range(bpp))  # LSBFirst: byte 0 is the lowest
    pixels = sum(raw[..., b] << (8 * k) for k, b in enumerate(order))
    # XWDColor entries: CARD32 pixel, CARD16 red, green, blue, CARD8 flags, pad (12 bytes, big-endian).
    cmap = np.frombuffer(data[head["header_size"]:start], np.dtype([("pixel", ">u4"), ("rgb", ">u2", 3),
                                                                     ("flags", "u1"), ("pad", "u1")]))
    out = np.empty((h, w, 3), np.uint8)
    for i, mask in enumerate((head["red_mask"], head["green_mask"], head["blue_mask"])):
        shift = (mask & -mask).bit_length() - 1
        index = (pixels & mask) >> shift
        if visual == DIRECT_COLOR and len(cmap) > int(index.max()):
            out[..., i] = cmap["rgb"][:, i][index] >> 8
        else:
            out[..., i] = index
    return out
