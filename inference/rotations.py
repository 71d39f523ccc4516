"""All rotation conversions of the project, batched, in one module.

Every public function takes a torch tensor (differentiable, any float dtype, any device) or a numpy array
(computed in float64 through torch, returned as numpy of the input's float dtype). Leading dimensions are
batch dimensions and are kept.

Conventions:
- axis-angle: [..., 3], the rotation vector (axis times angle in radians), as SMPL stores poses.
- matrix: [..., 3, 3], acting on column vectors (x' = R @ x).
- quaternion: [..., 4] in (w, x, y, z) order, scalar first, as Blender stores them (scipy uses x, y, z, w).
- 6D: [..., 6] in SPIN's layout: the 6 numbers are a row-major 3x2 matrix whose columns a1 = [0, 2, 4] and
  a2 = [1, 3, 5] are Gram-Schmidt-orthonormalised into the first two COLUMNS of R (HMR 2.0 differs).
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "axis_angle_to_matrix",
    "matrix_to_axis_angle",
    "matrix_to_quaternion",
    "quaternion_to_matrix",
    "axis_angle_to_quaternion",
    "quaternion_to_axis_angle",
    "rot6d_to_matrix",
    "matrix_to_rot6d",
    "make_quaternions_continuous",
    "rotation_between",
]

# Below this squared angle the Taylor series are used; their truncation error is far under float64's epsilon.
_SMALL_ANGLE2 = 1e-8


def _numpy_in_numpy_out(fn):
    """Let a torch implementation accept numpy arrays: compute in float64, return the input's float dtype."""

    @functools.wraps(fn)
    def wrapper(x, *args, **kwargs):
        if isinstance(x, np.ndarray) or np.isscalar(x) or isinstance(x, (list, tuple)):
            import torch

            arr = np.asarray(x)
            out_dtype = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float64
            out = fn(torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float64)), *args, **kwargs)
            return out.detach().cpu().numpy().astype(out_dtype, copy=False)
        return fn(x, *args, **kwargs)

    return wrapper


def _skew(v):
    """[..., 3] → [..., 3, 3] cross-product matrices."""
    import torch

    x, y, z = v.unbind(-1)
    o = torch.zeros_like(x)
    return torch.stack([o, -z, y, z, o, -x, -y, x, o], dim=-1).reshape(v.shape + (3,))


@_numpy_in_numpy_out
def axis_angle_to_matrix(aa):
    """Rodrigues' formula. aa [..., 3] → R [..., 3, 3].

    R = I + A K + B K², K = skew(aa), A = sin θ / θ, B = (1 - cos θ) / θ², with Taylor series near θ = 0 so
    that values and gradients stay exact and finite at 0; B is written as 2 sin²(θ/2) / θ² to avoid the
    cancellation of 1 - cos θ.
    """
    import torch

    t2 = (aa * aa).sum(-1)
    small = t2 < _SMALL_ANGLE2
    t2_safe = torch.where(small, torch.ones_like(t2), t2)
    t = torch.sqrt(t2_safe)
    a = torch.where(small, 1 - t2 / 6 + t2 * t2 / 120, torch.sin(t) / t)
    half = torch.sin(t / 2)
    b = torch.where(small, 0.5 - t2 / 24 + t2 * t2 / 720, 2 * half * half / t2_safe)
    k = _skew(aa)
    eye = torch.eye(3, dtype=aa.dtype, device=aa.device).expand(k.shape)
    return eye + a[..., None, None] * k + b[..., None, None] * (k @ k)


@_numpy_in_numpy_out
def quaternion_to_matrix(q):
    """q [..., 4] (w, x, y, z), normalised first → R [..., 3, 3]."""
    q = q / q.norm(dim=-1, keepdim=True)
    w, x, y, z = q.unbind(-1)
    import torch

    r = torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    )
    return r.reshape(q.shape[:-1] + (3, 3))


@_numpy_in_numpy_out
def matrix_to_quaternion(r):
    """R [..., 3, 3] → q [..., 4] (w, x, y, z) with w ≥ 0.

    Shepperd's method: of the four ways to read the quaternion off the matrix, use the one whose pivot
    (|w|, |x|, |y| or |z|) is largest, which is accurate everywhere, 180° turns included.
    """
    import torch

    m = r
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    # 4·pivot² for each candidate; clamp guards tiny negative values from rounding.
    p = torch.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1)
    s = torch.sqrt(torch.clamp(p, min=1e-30))  # 2·|pivot|
    d21, d02, d10 = m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]
    a10, a02, a21 = m[..., 1, 0] + m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0], m[..., 2, 1] + m[..., 1, 2]
    cands = torch.stack(
        [
            torch.stack([s[..., 0] ** 2, d21, d02, d10], -1) / (2 * s[..., 0:1]),
            torch.stack([d21, s[..., 1] ** 2, a10, a02], -1) / (2 * s[..., 1:2]),
            torch.stack([d02, a10, s[..., 2] ** 2, a21], -1) / (2 * s[..., 2:3]),
            torch.stack([d10, a02, a21, s[..., 3] ** 2], -1) / (2 * s[..., 3:4]),
        ],
        dim=-2,
    )
    best = p.argmax(-1)
    q = torch.gather(cands, -2, best[..., None, None].expand(best.shape + (1, 4))).squeeze(-2)
    q = q / q.norm(dim=-1, keepdim=True)
    return torch.where(q[..., :1] < 0, -q, q)


@_numpy_in_numpy_out
def quaternion_to_axis_angle(q):
    """q [..., 4] (w, x, y, z) → aa [..., 3], angle in [0, π].

    θ = 2·atan2(|v|, w) is accurate at every angle; θ/|v| uses its series 2/w near 0.
    """
    import torch

    q = q / q.norm(dim=-1, keepdim=True)
    q = torch.where(q[..., :1] < 0, -q, q)
    w, v = q[..., 0], q[..., 1:]
    n2 = (v * v).sum(-1)
    small = n2 < _SMALL_ANGLE2
    n = torch.sqrt(torch.where(small, torch.ones_like(n2), n2))
    ratio = torch.where(small, 2 / w * (1 + n2 / (6 * w * w)), 2 * torch.atan2(n, w) / n)
    return v * ratio[..., None]


@_numpy_in_numpy_out
def axis_angle_to_quaternion(aa):
    """aa [..., 3] → q [..., 4] (w, x, y, z), with a series for sin(θ/2)/θ near 0."""
    import torch

    t2 = (aa * aa).sum(-1)
    small = t2 < _SMALL_ANGLE2
    t = torch.sqrt(torch.where(small, torch.ones_like(t2), t2))
    k = torch.where(small, 0.5 - t2 / 48, torch.sin(t / 2) / t)
    w = torch.where(small, 1 - t2 / 8, torch.cos(t / 2))
    return torch.cat([w[..., None], aa * k[..., None]], dim=-1)


@_numpy_in_numpy_out
def matrix_to_axis_angle(r):
    """R [..., 3, 3] → aa [..., 3], through the quaternion (exact near 0 and near π)."""
    return quaternion_to_axis_angle(matrix_to_quaternion(r))


@_numpy_in_numpy_out
def rot6d_to_matrix(x):
    """6D in SPIN's layout [..., 6] → R [..., 3, 3] (see the module docstring)."""
    import torch

    m = x.reshape(x.shape[:-1] + (3, 2))
    a1, a2 = m[..., 0], m[..., 1]
    b1 = torch.nn.functional.normalize(a1, dim=-1)
    b2 = torch.nn.functional.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


@_numpy_in_numpy_out
def matrix_to_rot6d(r):
    """R [..., 3, 3] → 6D [..., 6] in SPIN's layout: the first two columns, read row by row."""
    return r[..., :, :2].reshape(r.shape[:-2] + (6,))


@_numpy_in_numpy_out
def make_quaternions_continuous(q, dim: int = 0):
    """Flip signs along `dim` (time) so consecutive quaternions lie on one hemisphere.

    q [..., 4]; q and -q are the same rotation, but interpolating between them takes the long way round.
    """
    import torch

    q = q.movedim(dim, 0)
    dots = (q[1:] * q[:-1]).sum(-1)
    first = torch.zeros_like(q[:1, ..., 0])  # the first frame keeps its sign (from q itself: dots is empty at T=1)
    flips = torch.cat([first, (dots < 0).to(q.dtype)], 0)
    sign = 1 - 2 * (torch.cumsum(flips, 0) % 2)
    return (q * sign[..., None]).movedim(0, dim)


@_numpy_in_numpy_out
def rotation_between(a, b):
    """The smallest rotation turning direction a into direction b, as axis-angle. a, b [..., 3] → aa [..., 3].

    Axis a × b, angle atan2(|a × b|, a · b) (accurate at every angle). For opposite directions any axis
    perpendicular to a is correct; the one nearest to x or, failing that, y is used.
    """
    import torch

    a = torch.nn.functional.normalize(a, dim=-1)
    b = torch.as_tensor(b, dtype=a.dtype, device=a.device)  # the wrapper converts only the first argument
    b = torch.nn.functional.normalize(b.expand_as(a), dim=-1)
    c = torch.cross(a, b, dim=-1)
    s = c.norm(dim=-1)
    angle = torch.atan2(s, (a * b).sum(-1))
    ex = torch.zeros_like(a)
    ex[..., 0] = 1
    ey = torch.zeros_like(a)
    ey[..., 1] = 1
    helper = torch.where((a[..., :1].abs() < 0.9), ex, ey)
    perp = torch.nn.functional.normalize(torch.cross(a, helper, dim=-1), dim=-1)
    axis = torch.where((s > 1e-9)[..., None], c / s.clamp(min=1e-12)[..., None], perp)
    return axis * angle[..., None]
