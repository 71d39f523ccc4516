"""Occupancy grids and their surfaces: one interface, three strategies.

`extract_occupancy(query_fn, resolution, mode)` samples an occupancy field on a regular grid over a cube;
`marching_cubes(grid)` turns it into a triangle mesh at the 0.5 level.

Grid convention: `resolution` counts CELLS per side; the grid has `resolution + 1` POINTS per side, including
both faces of the box (resolution 256 -> 257³ points, spacing (hi-lo)/256). This is what lets coarse-to-fine
levels nest exactly (17³ -> 33³ -> 65³ -> 129³ -> 257³: every coarse point is a fine point).
`values[i, j, k]` is the field at (x_i, y_j, z_k) = lo + (hi - lo) * (i, j, k) / resolution.

Strategies:
- "dense": every point is evaluated (the reference).
- "fast": coarse-to-fine surface localisation of "Monocular Real-Time Volumetric Performance Capture" (Li et al.,
  ECCV 2020): evaluate the coarsest level (resolution halved down to about 16 cells); at each finer level,
  upsample the values and the binary occupancy trilinearly; evaluate only the not-yet-evaluated points whose
  upsampled binary occupancy is strictly between 0 and 1 (cells whose coarse corners disagree), dilated by a box
  (`dilation`); every other point keeps its interpolated value. Then at most FAST_REPAIR_ROUNDS rounds of the
  lossless repair below per level: a hard bound on the work, where a noisy field could make the repair cascade.
  Why the bounded repair: without it, thin parts (a body's fingers, T-pose forearms: thinner than every coarse
  spacing) are found only where a coarse cell happens to straddle them, and the IoU on the open body falls to
  0.95; each repair round grows them by one fine cell, and 8 rounds recover them (IoU 1.0000 on the open body
  at rest and posed, 129³ and 257³) at 1–4% more evaluations than no repair.
- "lossless": the same, repeated until nothing flips: every evaluated point whose value lands on the other side
  of 0.5 than its interpolated value ("flipped") gets its 3x3x3 neighbours evaluated, and every point on a grid
  edge that crosses 0.5 is evaluated. The binary occupancy then equals the dense grid's and so does the
  marching-cubes mesh, provided every part of the shape is reachable from a coarse sample through connected
  inside points: a feature that falls entirely between coarse samples, detached from the rest, cannot be seen
  by any coarse-to-fine method (the raised fingertips of the posed open body at 65³).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

MODES = ("dense", "fast", "lossless")
COARSEST_CELLS = 16  # halve the resolution while it stays >= this (MonoPort: 16 cells = 17³ points)
FAST_REPAIR_ROUNDS = 8  # see "fast" above


@dataclass
class Grid:
    """values [R+1,R+1,R+1] float32 occupancy in [0,1] (numpy), over the cube `bounds`; `evaluated_count` =
    how many points the query function was asked for; `evaluated` [R+1]^3 bool: which ones."""

    values: np.ndarray
    evaluated_count: int
    bounds: tuple
    resolution: int
    evaluated: np.ndarray | None = None


def level_resolutions(resolution: int) -> list[int]:
    """Cells per side of each level, coarsest first: 256 -> [16, 32, 64, 128, 256]; 200 -> [25, 50, 100, 200]."""
    levels = [int(resolution)]
    while levels[0] % 2 == 0 and levels[0] // 2 >= COARSEST_CELLS:
        levels.insert(0, levels[0] // 2)
    return levels


def extract_occupancy(query_fn: Callable, resolution: int = 256, mode: str = "lossless", bounds=(-1.0, 1.0),
                      batch_points: int = 2 ** 18, dilation: int | None = None, device=None) -> Grid:
    """Sample `query_fn` on a (resolution+1)³ grid over the cube bounds³ with the chosen strategy.

    query_fn(points [N,3] float32 tensor on `device`) -> occupancy [N] (any float dtype) in [0,1]; it is called
    with at most `batch_points` points at a time, which bounds the memory a network query needs.
    `dilation`: half-size, in fine-grid points, of the box that grows the candidate set (1 = 3x3x3). Default 0:
    the flip repair finds whatever the paper's margin would, with about half the evaluations (measured on
    spheres: 109k vs 213k at 256).
    """
    import torch

    if mode not in MODES:
        from ..errors import BadInputError

        raise BadInputError(f"unknown surface extraction mode {mode!r}: use one of {', '.join(MODES)}")
    if int(resolution) < 2:
        from ..errors import BadInputError

        raise BadInputError(f"resolution must be at least 2 cells per side, got {resolution}")
    device = torch.device(device or "cpu")
    if dilation is None:
        dilation = 0
    lo, hi = float(bounds[0]), float(bounds[1])
    ev = _Evaluator(query_fn, lo, hi, batch_points, device)
    with torch.no_grad():
        if mode == "dense":
            values = ev.dense(int(resolution))
            evaluated = None
        else:
            rounds = float("inf") if mode == "lossless" else FAST_REPAIR_ROUNDS
            values, evaluated = _coarse_to_fine(ev, level_resolutions(resolution), rounds, dilation)
            evaluated = evaluated.cpu().numpy()
    return Grid(values.cpu().numpy(), ev.count, (lo, hi), int(resolution), evaluated)


class _Evaluator:
    """Turns grid indices into points, queries them in bounded batches, counts evaluations."""

    def __init__(self, query_fn, lo, hi, batch_points, device):
        self.query_fn, self.lo, self.hi = query_fn, lo, hi
        self.batch = max(1, int(batch_points))
        self.device = device
        self.count = 0

    def _query(self, idx, n):
        """idx [M,3] long grid indices on a grid of n cells -> values [M] float32."""
        if len(idx) == 0:  # torch.split yields one empty chunk for an empty list; networks reject it
            return idx.new_zeros(0, dtype=torch_float())
        pts = self.lo + (self.hi - self.lo) * idx.to(torch_float()) / n
        self.count += len(idx)
        return self.query_fn(pts).reshape(-1).to(torch_float())

    def at(self, values, mask, n):
        """Evaluate the points of `mask` ([n+1]^3 bool) into `values`, in batches. Returns their indices [M,3]."""
        idx = mask.nonzero()
        for chunk in idx.split(self.batch):
            values[chunk[:, 0], chunk[:, 1], chunk[:, 2]] = self._query(chunk, n)
        return idx

    def dense(self, n):
        """Every point of the (n+1)³ grid, slab by slab so that no index array of the whole grid is built."""
        import torch

        side = n + 1
        values = torch.empty((side, side, side), dtype=torch.float32, device=self.device)
        jk = torch.stack(torch.meshgrid(torch.arange(side, device=self.device),
                                        torch.arange(side, device=self.device), indexing="ij"), -1).reshape(-1, 2)
        rows = max(1, self.batch // len(jk))  # whole x-slices per batch when they fit
        for i0 in range(0, side, rows):
            i = torch.arange(i0, min(side, i0 + rows), device=self.device)
            idx = torch.cat([i.repeat_interleave(len(jk))[:, None], jk.repeat(len(i), 1)], 1)
            out = torch.cat([self._query(c, n) for c in idx.split(self.batch)])
            values[i0:i0 + len(i)] = out.reshape(len(i), side, side)
        return values


def torch_float():
    import torch

    return torch.float32


def _dilate(mask, radius: int):
    """Binary dilation of a [D,H,W] bool grid by a (2r+1)³ box."""
    import torch.nn.functional as F

    if radius <= 0:
        return mask
    k = 2 * radius + 1
    return F.max_pool3d(mask[None, None].float(), k, stride=1, padding=radius)[0, 0] > 0


def _upsample(grid):
    """[n+1]^3 -> [2n+1]^3, trilinear with align_corners=True (coarse points keep their values exactly)."""
    import torch.nn.functional as F

    n = grid.shape[0] - 1
    return F.interpolate(grid[None, None], size=(2 * n + 1,) * 3, mode="trilinear", align_corners=True)[0, 0]


def _crossing_points(occ):
    """[D,H,W] bool -> points that have an axis neighbour of the other occupancy (ends of edges crossing 0.5)."""
    out = occ.new_zeros(occ.shape)
    for axis in range(3):
        a = occ.narrow(axis, 0, occ.shape[axis] - 1)
        b = occ.narrow(axis, 1, occ.shape[axis] - 1)
        diff = a != b
        out.narrow(axis, 0, occ.shape[axis] - 1).logical_or_(diff)
        out.narrow(axis, 1, occ.shape[axis] - 1).logical_or_(diff)
    return out


def _coarse_to_fine(ev: _Evaluator, levels, repair_rounds: float, dilation: int):
    """The MonoPort localisation over `levels` (cells per side, coarsest first), with at most `repair_rounds`
    rounds of flip repair per level (inf: until nothing flips). Returns (values, evaluated)."""
    import torch

    n0 = levels[0]
    values = ev.dense(n0)
    evaluated = torch.ones_like(values, dtype=torch.bool)
    for n in levels[1:]:
        interp = _upsample(values)
        binary = _upsample((values > 0.5).float())
        prev = evaluated
        evaluated = torch.zeros_like(interp, dtype=torch.bool)
        evaluated[::2, ::2, ::2] = prev
        del prev
        # Only cells whose coarse corners disagree can hold the surface; the box catches its near neighbours.
        todo = _dilate((binary > 0) & (binary < 1), dilation) & ~evaluated
        del binary
        values = interp.clone()
        idx = ev.at(values, todo, n)
        evaluated |= todo
        del todo
        if repair_rounds:
            # Every point at the end of an edge that crosses 0.5 must hold a true value, so that the mesh
            # equals the dense one: one full-grid pass here, then only around newly evaluated points.
            extra = (_crossing_points(values > 0.5) & ~evaluated).nonzero()
            rounds = 0
            while (len(idx) or extra is not None) and rounds < repair_rounds:
                idx = _repair(ev, values, interp, evaluated, idx, extra, n)
                extra = None
                rounds += 1
        del interp
    return values, evaluated


_FACE = ((1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1))


def _repair(ev, values, interp, evaluated, idx, extra, n):
    """One lossless step around the points `idx` [M,3] just evaluated: queue the 3x3x3 neighbours of those that
    flipped, and their axis neighbours across a 0.5 crossing; evaluate the queued points not yet evaluated
    (plus `extra` [K,3] if given). Works on index lists only, so its cost follows the surface, not the grid."""
    import torch

    side = n + 1
    v, w = values[tuple(idx.T)], interp[tuple(idx.T)]
    flipped = idx[(v > 0.5) != (w > 0.5)]
    box = torch.stack(torch.meshgrid(*[torch.arange(-1, 2, device=idx.device)] * 3, indexing="ij"), -1)
    queued = [(flipped[:, None] + box.reshape(1, -1, 3)).reshape(-1, 3)]
    face = torch.tensor(_FACE, device=idx.device)
    nb = (idx[:, None] + face[None]).reshape(-1, 3)
    inside = ((nb >= 0) & (nb < side)).all(1)
    src = idx.repeat_interleave(len(_FACE), 0)[inside]
    nb = nb[inside]
    queued.append(nb[(values[tuple(nb.T)] > 0.5) != (values[tuple(src.T)] > 0.5)])
    if extra is not None:
        queued.append(extra)
    q = torch.cat(queued)
    q = q[((q >= 0) & (q < side)).all(1)]
    lin = torch.unique(q[:, 0] * side * side + q[:, 1] * side + q[:, 2])
    lin = lin[~evaluated.view(-1)[lin]]
    new = torch.stack([lin // (side * side), (lin // side) % side, lin % side], 1)
    for chunk in new.split(ev.batch):
        values[tuple(chunk.T)] = ev._query(chunk, n)
    evaluated.view(-1)[lin] = True
    return new


def marching_cubes(grid: Grid, level: float = 0.5):
    """Triangle mesh of the `level` set: (vertices [V,3] float32 in the grid's box, faces [F,3] int64, wound so
    that normals point out of the occupied region). Empty arrays when the surface does not cross the grid."""
    from skimage import measure

    vals = grid.values
    if not (vals.min() < level < vals.max()):
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int64)
    lo, hi = grid.bounds
    step = (hi - lo) / grid.resolution
    # 'ascent': occupancy grows inward, so this winding makes normals point outward (checked by a test).
    verts, faces, _, _ = measure.marching_cubes(vals, level, spacing=(step,) * 3, gradient_direction="ascent")
    return (verts + lo).astype(np.float32), faces.astype(np.int64)
