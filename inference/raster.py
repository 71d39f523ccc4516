"""A small software rasteriser (numpy only): filled triangles into a z-buffer, and flat Lambert shading.

Enough to show a posed body mesh over a video frame or on a floor grid without Blender or OpenGL
(inference.preview). Pixel convention: continuous image coordinates with pixel (u, v) covering [u, u+1) x
[v, v+1), so its centre is (u + 0.5, v + 0.5) and the image centre is (width/2, height/2), as
inference.camera.PinholeCamera puts its principal point. A pixel is covered when its centre lies inside the
triangle or on its edge.

Vectorised over every (triangle, pixel of its bounding box) pair, in batches, instead of a loop over
triangles: a body of ~14k triangles 300 px tall rasterises in tens of milliseconds.
"""

from __future__ import annotations

import numpy as np

BATCH = 1_000_000  # candidate (triangle, pixel) pairs handled at once: bounds the memory (~100 MB)


def rasterize(xy, depth, faces, width: int, height: int):
    """Triangles → per-pixel nearest triangle.

    xy [V,2] pixel coordinates; depth [V] a value that varies linearly across a triangle on the screen, smaller =
    nearer (for a perspective camera pass -1/z, for an orthographic one the distance along the view); faces [F,3]
    vertex indices; width, height: the image size. Triangles with a non-finite vertex are skipped.
    Returns (face [H,W] int32: the covering triangle's index or -1, zbuf [H,W] float64: its depth, inf where none).
    """
    xy = np.asarray(xy, dtype=np.float64)
    depth = np.asarray(depth, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    w, h = int(width), int(height)
    face_buf = np.full(h * w, -1, dtype=np.int32)
    zbuf = np.full(h * w, np.inf)
    if len(faces) == 0 or w <= 0 or h <= 0:
        return face_buf.reshape(h, w), zbuf.reshape(h, w)
    tri = xy[faces]  # [F,3,2]
    tz = depth[faces]  # [F,3]
    ok = np.isfinite(tri).all(axis=(1, 2)) & np.isfinite(tz).all(axis=1)
    # pixel centres c + 0.5 inside [min, max] → c in [ceil(min - 0.5), floor(max - 0.5)]
    with np.errstate(invalid="ignore"):
        x0 = np.clip(np.ceil(tri[..., 0].min(1) - 0.5), 0, w)
        x1 = np.clip(np.floor(tri[..., 0].max(1) - 0.5), -1, w - 1)
        y0 = np.clip(np.ceil(tri[..., 1].min(1) - 0.5), 0, h)
        y1 = np.clip(np.floor(tri[..., 1].max(1) - 0.5), -1, h - 1)
    area = ((tri[:, 1, 0] - tri[:, 0, 0]) * (tri[:, 2, 1] - tri[:, 0, 1])
            - (tri[:, 2, 0] - tri[:, 0, 0]) * (tri[:, 1, 1] - tri[:, 0, 1]))
    ok &= (x1 >= x0) & (y1 >= y0) & (np.abs(area) > 1e-12)
    ids = np.flatnonzero(ok)
    nx = (x1[ids] - x0[ids] + 1).astype(np.int64)
    ny = (y1[ids] - y0[ids] + 1).astype(np.int64)
    counts = nx * ny
    start = 0
    while start < len(ids):
        stop = start + max(1, int(np.searchsorted(np.cumsum(counts[start:]), BATCH, side="right")))
        _batch(ids[start:stop], nx[start:stop], counts[start:stop], x0, y0, tri, tz, area, w, face_buf, zbuf)
        start = stop
    return face_buf.reshape(h, w), zbuf.reshape(h, w)


def _batch(ids, nx, counts, x0, y0, tri, tz, area, w, face_buf, zbuf):
    total = int(counts.sum())
    which = np.repeat(np.arange(len(ids)), counts)
    offset = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    f = ids[which]
    px = x0[f].astype(np.int64) + offset % nx[which]
    py = y0[f].astype(np.int64) + offset // nx[which]
    cx, cy = px + 0.5, py + 0.5
    t = tri[f]
    a = area[f]
    # barycentric weights from the edge functions, normalised by the signed area (either winding)
    b0 = ((t[:, 1, 0] - cx) * (t[:, 2, 1] - cy) - (t[:, 2, 0] - cx) * (t[:, 1, 1] - cy)) / a
    b1 = ((t[:, 2, 0] - cx) * (t[:, 0, 1] - cy) - (t[:, 0, 0] - cx) * (t[:, 2, 1] - cy)) / a
    b2 = 1.0 - b0 - b1
    eps = -1e-9
    inside = (b0 >= eps) & (b1 >= eps) & (b2 >= eps)
    if not inside.any():
        return
    f, px, py = f[inside], px[inside], py[inside]
    z = (b0[inside] * tz[f, 0] + b1[inside] * tz[f, 1] + b2[inside] * tz[f, 2])
    pix = py * w + px
    order = np.lexsort((z, pix))  # by pixel, nearest first
    pix, z, f = pix[order], z[order], f[order]
    first = np.ones(len(pix), bool)
    first[1:] = pix[1:] != pix[:-1]
    pix, z, f = pix[first], z[first], f[first]
    nearer = z < zbuf[pix]
    zbuf[pix[nearer]] = z[nearer]
    face_buf[pix[nearer]] = f[nearer]


def face_normals(vertices, faces) -> np.ndarray:
    """[F,3] unit normals of the triangles (zero for degenerate ones)."""
    v = np.asarray(vertices, dtype=np.float64)[np.asarray(faces)]
    n = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    length = np.linalg.norm(n, axis=1, keepdims=True)
    return np.divide(n, length, out=np.zeros_like(n), where=length > 0)


def lambert(normals, light, ambient: float = 0.35) -> np.ndarray:
    """[F] brightness in [ambient, 1]: flat two-sided Lambert shading for a light along `light` (either side lit,
    so the faces' winding does not matter)."""
    light = np.asarray(light, dtype=np.float64)
    light = light / np.linalg.norm(light)
    return ambient + (1.0 - ambient) * np.abs(np.asarray(normals) @ light)


def paint(image, face, shade, color, alpha: float = 1.0) -> np.ndarray:
    """Blend the shaded triangles into `image` (uint8 [H,W,3], not modified) → a new uint8 image.

    face [H,W] from `rasterize`; shade [F] brightness per triangle; color: RGB 0..255; alpha: the body's opacity.
    """
    out = np.array(image, dtype=np.float64, copy=True)
    hit = face >= 0
    body = shade[face[hit]][:, None] * np.asarray(color, dtype=np.float64)[None]
    out[hit] = (1.0 - alpha) * out[hit] + alpha * body
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
