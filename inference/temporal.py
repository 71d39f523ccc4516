"""Temporal clean-up of a per-frame motion: gap filling, the One-Euro filter, grounding and foot contacts.

All functions are pure numpy over time-major arrays. Rotations are filtered and interpolated in SPIN's 6D
form (continuous, unlike axis-angle) and turned back into rotations by inference.rotations.
"""

from __future__ import annotations

import numpy as np

from .rotations import axis_angle_to_matrix, matrix_to_axis_angle, matrix_to_rot6d, rot6d_to_matrix


# ----------------------------------------------------------------------------------------------- gaps
def fill_gaps(detected: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Which frames to keep and which of them to fill.

    detected [T] bool → (keep [T] bool, filled [T] bool): interior runs of missing frames no longer than
    `max_gap` are filled; longer runs stay missing; missing frames before the first and after the last
    detection are never invented (keep is False there).
    """
    detected = np.asarray(detected, bool)
    t = len(detected)
    keep = np.zeros(t, bool)
    filled = np.zeros(t, bool)
    idx = np.flatnonzero(detected)
    if not len(idx):
        return keep, filled
    keep[idx[0]: idx[-1] + 1] = True
    for a, b in zip(idx[:-1], idx[1:]):  # consecutive detections a < b
        gap = b - a - 1
        if gap == 0:
            continue
        if gap <= max_gap:
            filled[a + 1: b] = True
        else:
            keep[a + 1: b] = False
    return keep, filled


def interpolate_missing(pose: np.ndarray, transl: np.ndarray, known: np.ndarray):
    """Linear interpolation over time of transl [T,3] and of rotations (in 6D) for frames not `known`.

    pose [T,24,3] axis-angle. Frames outside the known span keep the nearest known value.
    """
    known = np.asarray(known, bool)
    t = np.arange(len(known))
    six = matrix_to_rot6d(axis_angle_to_matrix(pose))  # [T,24,6]
    out6 = np.empty_like(six)
    for j in range(six.shape[1]):
        for c in range(6):
            out6[:, j, c] = np.interp(t, t[known], six[known, j, c])
    new_transl = np.stack([np.interp(t, t[known], transl[known, c]) for c in range(3)], -1)
    return matrix_to_axis_angle(rot6d_to_matrix(out6)), new_transl


# ----------------------------------------------------------------------------------------------- One-Euro
def one_euro(x: np.ndarray, fps: float, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0):
    """The One-Euro filter (Casiez, Roussel and Vogel, CHI 2012) along axis 0 of x [T, ...].

    A low-pass filter whose cut-off rises with speed: slow motion is smoothed hard (less jitter), fast
    motion lightly (less lag). min_cutoff (Hz) sets the smoothing at rest, beta how fast it relaxes.
    """
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 2:
        return x.copy()
    dt = 1.0 / fps

    def alpha(cutoff):
        tau = 1.0 / (2 * np.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    out = np.empty_like(x)
    out[0] = x[0]
    dx_hat = np.zeros_like(x[0])
    a_d = alpha(d_cutoff)
    for i in range(1, len(x)):
        dx = (x[i] - out[i - 1]) / dt
        dx_hat = a_d * dx + (1 - a_d) * dx_hat
        a = alpha(min_cutoff + beta * np.abs(dx_hat))
        out[i] = a * x[i] + (1 - a) * out[i - 1]
    return out


def strength_to_cutoff(strength: float) -> tuple[float, float]:
    """A user's smoothing strength in [0, 1] → (min_cutoff Hz, beta). 0 leaves the motion as it is."""
    s = float(np.clip(strength, 0.0, 1.0))
    return 0.3 + 20.0 * (1.0 - s) ** 2, 0.02 + 0.5 * (1.0 - s)


def one_euro_both_ways(x: np.ndarray, fps: float, min_cutoff: float = 1.0, beta: float = 0.0) -> np.ndarray:
    """The One-Euro filter run forwards and backwards in time, averaged: the whole clip is known, so the lag of
    the forward pass (the motion arriving late by ~1/(2π·cutoff) s) is cancelled by the lead of the backward
    one. A walk's legs smoothed with a lag no longer match the frames' images (PA-MPJPE +2.5 mm on a rendered
    walk at strength 0.5; with both ways +0.6 mm)."""
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * (one_euro(x, fps, min_cutoff, beta) + one_euro(x[::-1], fps, min_cutoff, beta)[::-1])


def smooth_motion(pose: np.ndarray, transl: np.ndarray, fps: float, strength: float = 0.5):
    """One-Euro filter, both ways in time (one_euro_both_ways: no lag), on rotations (6D) and the root path.
    pose [T,24,3], transl [T,3] → same shapes."""
    if strength <= 0 or len(pose) < 3:
        return np.array(pose, dtype=np.float64), np.array(transl, dtype=np.float64)
    min_cutoff, beta = strength_to_cutoff(strength)
    six = matrix_to_rot6d(axis_angle_to_matrix(np.asarray(pose, dtype=np.float64)))
    six = one_euro_both_ways(six, fps, min_cutoff, beta)
    new_transl = one_euro_both_ways(transl, fps, min_cutoff, beta)
    return matrix_to_axis_angle(rot6d_to_matrix(six)), new_transl


def smooth_path(x: np.ndarray, sigma: float) -> np.ndarray:
    """x [T, ...] smoothed along time by a Gaussian of `sigma` frames that keeps a constant velocity, ends
    included: the clip is extended past each end by reflecting it through its end point (a straight line
    continues straight), where holding the end value (gaussian_smooth) would slow a walking root to a stop there.
    Curvature within ~sigma frames (per-frame noise) is what goes."""
    x = np.asarray(x, dtype=np.float64)
    if sigma <= 0 or len(x) < 3:
        return x.copy()
    pad = min(len(x) - 1, int(np.ceil(4 * sigma)))
    head = 2 * x[:1] - x[pad:0:-1]
    tail = 2 * x[-1:] - x[-2:-pad - 2:-1]
    return gaussian_smooth(np.concatenate([head, x, tail]), sigma)[pad:pad + len(x)]


def smooth_rotations(r: np.ndarray, sigma: float) -> np.ndarray:
    """Rotations [T,3,3] smoothed along time by a Gaussian of `sigma` frames: on unit quaternions made continuous
    (one hemisphere), averaged and normalised (a good mean for rotations that spread by a few degrees within
    the window, as a camera's per-frame turns do); a steady pan stays steady to the ends (smooth_path)."""
    from .rotations import make_quaternions_continuous, matrix_to_quaternion, quaternion_to_matrix

    r = np.asarray(r, dtype=np.float64)
    if sigma <= 0 or len(r) < 3:
        return r.copy()
    q = make_quaternions_continuous(matrix_to_quaternion(r))
    q = smooth_path(q, sigma)
    return quaternion_to_matrix(q / np.linalg.norm(q, axis=-1, keepdims=True))


# ----------------------------------------------------------------------------------------------- ground
def foot_contacts(feet: np.ndarray, fps: float, height: float = 0.05, speed: float = 0.25) -> np.ndarray:
    """feet [T,F,3] world positions (y up, floor at 0) → contact [T,F] bool: low and (nearly) still."""
    vel = np.zeros(feet.shape[:2])
    if len(feet) > 1:
        step = np.linalg.norm(np.diff(feet[..., [0, 2]], axis=0), axis=-1) * fps  # horizontal m/s
        vel[1:] = step
        vel[0] = step[0]
    return (feet[..., 1] < height) & (vel < speed)


CONTACT_GAP_SECONDS = 0.12  # a foot lifted for less than this did not take a step (4 frames at 30 fps)


def bridge_contact_gaps(contact: np.ndarray, max_gap: int) -> np.ndarray:
    """contact [T,F] bool → the same with runs of at most `max_gap` non-contact frames between two contacts
    filled (never at the ends)."""
    out = np.array(contact, dtype=bool, copy=True)
    for f in range(out.shape[1]):
        on = np.flatnonzero(out[:, f])
        for a, b in zip(on[:-1], on[1:]):
            if 1 < b - a <= max_gap + 1:
                out[a + 1:b, f] = True
    return out


def floor_height(feet) -> float:
    """The floor under a motion, the one rule: the 5th percentile over frames of the lowest foot joint's height.
    feet [T,F,3] world positions (y up) → y of the floor."""
    return float(np.percentile(np.asarray(feet)[..., 1].min(axis=1), 5))


def ground_and_unslide(transl: np.ndarray, feet: np.ndarray, fps: float, contact: np.ndarray | None = None,
                       floor: float | None = None, along: np.ndarray | None = None):
    """Put the floor at y = 0 and remove foot sliding by moving the root.

    transl [T,3] root translations; feet [T,F,3] foot joint positions (world, y up) of the same motion.
    The floor is the 5th percentile of the lowest foot's height. While a foot is in contact it is pinned
    where the contact began; the root moves by the mean horizontal correction of the planted feet, and
    frames without contact keep the last correction (so the path does not jump). Contacts broken for a few
    frames only (fit noise, not a step) are bridged first: each re-planting keeps the correction so far, so
    flickering contacts would turn fit noise into a random walk of the root.
    floor: the floor's height when it is already known (0: the motion is grounded; only sliding is removed).
    along [T,2]: unit horizontal (x, z) directions of the camera's line of sight to the body per frame: the
    correction then only moves the root along them. Across the line of sight the image fixes where the body is
    to a pixel; along it the fitted depth is what slides, so only that is corrected and the body stays on the
    footage (a correction across it pulled the body off the player by 20-35 px on tennis.mp4).
    Returns (new transl [T,3], contact [T,F] bool).
    """
    transl = np.array(transl, dtype=np.float64)
    feet = np.array(feet, dtype=np.float64)
    floor = floor_height(feet) if floor is None else float(floor)
    transl[:, 1] -= floor
    feet[..., 1] -= floor
    if contact is None:
        contact = foot_contacts(feet, fps)
    contact = bridge_contact_gaps(contact, max(1, round(CONTACT_GAP_SECONDS * fps)))
    if along is not None:
        along = np.asarray(along, dtype=np.float64).reshape(len(transl), 2)
    correction = np.zeros(2)
    anchors = [None] * feet.shape[1]
    for t in range(len(transl)):
        if along is not None:  # only the part along this frame's line of sight is applied
            correction = (correction @ along[t]) * along[t]
        current = feet[t][:, [0, 2]] + correction  # where the feet are with the correction so far
        deltas = []
        for f in range(feet.shape[1]):
            if contact[t, f]:
                if anchors[f] is None:
                    anchors[f] = current[f].copy()
                deltas.append(anchors[f] - current[f])
            else:
                anchors[f] = None
        if deltas:
            step = np.mean(deltas, axis=0)
            correction = correction + (step if along is None else (step @ along[t]) * along[t])
        transl[t, [0, 2]] += correction
    return transl, contact


# ----------------------------------------------------------------------------------------------- gravity
PELVIS, NECK = 0, 12  # SMPL joints whose line is the trunk
PLANE_PRIOR_M2 = 0.2  # m²: how strongly the trunk's mean direction holds the floor's normal (see floor_plane)
MAX_FLOOR_TILT_DEG = 30.0  # a floor fitted further than this from the trunk's up is not believed


def trunk_up(joints: np.ndarray) -> np.ndarray:
    """joints [T,24,3] world → the mean direction pelvis → neck [3], unit: where "up" is for people who mostly
    stand (an estimate of gravity that needs no floor)."""
    d = joints[:, NECK] - joints[:, PELVIS]
    d = d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-9)
    m = d.mean(axis=0)
    return m / max(np.linalg.norm(m), 1e-9)


def floor_plane(points: np.ndarray, up_prior: np.ndarray, prior: float = PLANE_PRIOR_M2):
    """A floor through foot contact points [N,3] (world): → (normal [3] unit, toward up_prior; height, so that
    the floor is {x: normal·x = height}).

    The plane's normal minimises Σ (n·(p - p̄))² / N + prior · |n × up_prior|²: where the contacts spread (a
    player crossing the court) they decide the tilt; along directions where they do not (one spot, one line)
    the trunk's up holds it. The height is the median of n·p (robust to a few wrong contacts). A normal further
    than MAX_FLOOR_TILT_DEG from up_prior is not believed (up_prior is used).
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    u = np.asarray(up_prior, dtype=np.float64)
    u = u / np.linalg.norm(u)
    if len(p) >= 3:
        c = p - p.mean(axis=0)
        m = c.T @ c / len(p) + prior * (np.eye(3) - np.outer(u, u))
        w, v = np.linalg.eigh(m)
        n = v[:, 0] * np.sign(v[:, 0] @ u or 1.0)
        if np.degrees(np.arccos(np.clip(n @ u, -1, 1))) > MAX_FLOOR_TILT_DEG:
            n = u
    else:
        n = u
    return n, float(np.median(p @ n)) if len(p) else 0.0


def level_rotation(up: np.ndarray) -> np.ndarray:
    """The smallest rotation [3,3] that turns `up` onto +Y (Rodrigues; identity when already there)."""
    from .rotations import axis_angle_to_matrix

    up = np.asarray(up, dtype=np.float64)
    up = up / np.linalg.norm(up)
    axis = np.cross(up, [0.0, 1.0, 0.0])
    s, c = np.linalg.norm(axis), float(up[1])
    if s < 1e-12:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    return axis_angle_to_matrix(axis / s * np.arctan2(s, c))


def depth_scales(lowest: np.ndarray, contact: np.ndarray, eye_height: float, fps: float,
                 limits=(0.75, 1.33)) -> np.ndarray:
    """Per-frame depth corrections that put the body's lowest point on the floor where a foot is down.

    lowest [T,3]: the body's lowest point per frame (world, floor at y = 0, camera centre at (0, eye_height, 0)
    looking from above); contact [T] bool. Moving the body along the camera's ray through that point by a
    factor s of its distance keeps it on the same pixel and puts it at height eye_height + s (y - eye_height):
    s = eye_height / (eye_height - y) lands it on the floor. Frames without contact (a jump, a step) take s
    interpolated from the contacts around them (keeping their height above the floor); s is then smoothed over
    ~0.1 s and kept within `limits`. Returns s [T] (1 where nothing can be said).
    """
    lowest = np.asarray(lowest, dtype=np.float64)
    drop = eye_height - lowest[:, 1]
    ok = np.asarray(contact, bool) & (drop > 0.3)  # a point near the camera's height says nothing about depth
    t = np.arange(len(lowest))
    if not ok.any():
        return np.ones(len(lowest))
    s = np.clip(eye_height / np.where(ok, drop, 1.0), *limits)
    s = np.interp(t, t[ok], s[ok])
    return np.clip(gaussian_smooth(s, max(1.0, 0.05 * fps)), *limits)


def gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """x [T, ...] smoothed along time by a Gaussian of `sigma` frames (edges held)."""
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(np.asarray(x, dtype=np.float64), sigma, axis=0, mode="nearest")
