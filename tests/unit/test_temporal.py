"""Gap filling, the One-Euro filter, grounding and foot-sliding removal on signals with known answers."""

import numpy as np

from inference.rotations import axis_angle_to_matrix
from inference.temporal import (bridge_contact_gaps, fill_gaps, ground_and_unslide, interpolate_missing, one_euro,
                                smooth_motion)

RNG = np.random.default_rng(3)


def test_fill_gaps_short_interior_only():
    det = np.array([0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0], bool)
    keep, filled = fill_gaps(det, max_gap=2)
    assert keep.tolist() == [0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0]
    assert filled.tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert not fill_gaps(np.zeros(5, bool), 3)[0].any()


def test_interpolate_missing_is_linear_in_translation_and_halfway_in_rotation():
    pose = np.zeros((3, 24, 3))
    pose[2, 5] = [0.0, 1.0, 0.0]
    transl = np.array([[0, 0, 0], [9, 9, 9], [2, 4, 6.0]])
    p, t = interpolate_missing(pose, transl, np.array([True, False, True]))
    assert np.allclose(t[1], [1, 2, 3])
    assert np.allclose(p[1, 5], [0, 0.5, 0], atol=1e-9)  # a single-axis turn: halfway is half the angle


def test_one_euro_reduces_jitter_and_keeps_constants():
    clean = np.ones((300, 2))
    noisy = clean + 0.05 * RNG.standard_normal(clean.shape)
    out = one_euro(noisy, fps=30, min_cutoff=1.0, beta=0.0)
    assert np.std(out[30:] - clean[30:]) < 0.4 * np.std(noisy - clean)
    assert np.allclose(one_euro(clean, 30), clean)


def test_one_euro_follows_fast_motion_with_beta():
    t = np.arange(120) / 30
    ramp = (5.0 * t)[:, None]
    lag_plain = np.abs(one_euro(ramp, 30, 0.5, 0.0) - ramp)[60:].mean()
    lag_beta = np.abs(one_euro(ramp, 30, 0.5, 1.0) - ramp)[60:].mean()
    assert lag_beta < 0.5 * lag_plain


def test_smooth_motion_reduces_rotation_jitter():
    t = 90
    base = np.zeros((t, 24, 3))
    base[:, 1, 0] = np.linspace(0, 0.8, t)
    noisy = base + 0.03 * RNG.standard_normal(base.shape)
    smooth, _ = smooth_motion(noisy, np.zeros((t, 3)), 30, strength=0.7)

    def accel(p):
        m = axis_angle_to_matrix(p)
        return np.abs(m[2:] - 2 * m[1:-1] + m[:-2]).mean()

    assert accel(smooth) < 0.3 * accel(noisy)
    same, _ = smooth_motion(noisy, np.zeros((t, 3)), 30, strength=0.0)
    assert np.allclose(same, noisy)


def _walk(t=120, fps=30, slide=0.0):
    """Two feet stepping alternately along +x; a planted foot drifts by `slide` m/s (a sliding artefact)."""
    feet = np.zeros((t, 2, 3))
    root = np.zeros((t, 3))
    for i in range(t):
        phase = (i // 15) % 2  # 15 frames per step: foot 0 planted in even steps
        root[i, 0] = 0.02 * i
        for f in range(2):
            planted = (phase == f)
            feet[i, f, 0] = root[i, 0] + (0.1 if f == 0 else -0.1) + (slide / fps * (i % 15) if planted else 0)
            feet[i, f, 1] = 0.3 + (0.0 if planted else 0.08)  # the floor sits at y = 0.3 before grounding
            if planted:  # a planted foot stays put in the world (apart from the artefact)
                start = i - (i % 15)
                feet[i, f, 0] = root[start, 0] + (0.1 if f == 0 else -0.1) + slide / fps * (i % 15)
    return root, feet


def test_grounding_puts_the_floor_at_zero_and_removes_sliding():
    root, feet = _walk(slide=0.5)
    new_root, contact = ground_and_unslide(root, feet, fps=30)
    assert abs(new_root[:, 1].mean() - (-0.3)) < 1e-9  # everything moved down by the floor height
    fixed = feet.copy()
    fixed[..., [0, 2]] += (new_root - root)[:, None, [0, 2]]
    for f in range(2):  # during each contact the corrected foot does not move horizontally
        runs = np.flatnonzero(contact[:, f])
        for a, b in zip(runs[:-1], runs[1:]):
            if b == a + 1:
                assert np.linalg.norm(fixed[b, f, [0, 2]] - fixed[a, f, [0, 2]]) < 1e-3


def test_standing_still_does_not_drift():
    t = 200
    feet = np.zeros((t, 2, 3))
    feet[:, 0, 0], feet[:, 1, 0] = 0.1, -0.1
    feet += 0.002 * RNG.standard_normal(feet.shape)
    root = np.zeros((t, 3)) + 0.002 * RNG.standard_normal((t, 3))
    new_root, contact = ground_and_unslide(root, feet, fps=30)
    assert contact.mean() > 0.9
    assert np.linalg.norm(new_root[-1, [0, 2]] - new_root[0, [0, 2]]) < 0.01


def test_long_standing_clip_with_jittery_feet_stays_put():
    """One minute standing still; the fitted feet jitter 3 mm a frame and their contact flickers (as fitted feet'
    does). Re-pinning each foot where a new contact begins, keeping the correction so far, would add the jitter
    to the root for good: a random walk."""
    t = 1800
    feet = np.zeros((t, 2, 3))
    feet[:, 0, 0], feet[:, 1, 0] = 0.1, -0.1
    feet[..., [0, 2]] += 0.003 * RNG.standard_normal((t, 2, 2))
    contact = RNG.random((t, 2)) > 0.2
    new_root, _ = ground_and_unslide(np.zeros((t, 3)), feet, fps=30, contact=contact)
    assert np.abs(new_root[:, [0, 2]]).max() < 0.03
    assert np.linalg.norm(new_root[-1, [0, 2]] - new_root[0, [0, 2]]) < 0.02
    # and the planted feet move less: one root shift can cancel only the mean of two independent jitters,
    # so the best possible is 1/sqrt(2) of the raw frame-to-frame motion
    fixed = feet[..., [0, 2]] + new_root[:, None, [0, 2]]
    planted = contact[1:] & contact[:-1]  # [T-1,2] the steps where a foot is down at both ends
    ratio = (np.abs(np.diff(fixed, axis=0)).sum(-1)[planted].mean()
             / np.abs(np.diff(feet[..., [0, 2]], axis=0)).sum(-1)[planted].mean())
    assert ratio < 0.8


def test_bridge_contact_gaps_fills_short_interior_breaks_only():
    c = np.array([0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0], bool)[:, None]
    out = bridge_contact_gaps(c, max_gap=2)[:, 0]
    assert out.astype(int).tolist() == [0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0]


def test_floor_plane_follows_spread_contacts_and_the_prior_elsewhere():
    from inference.temporal import floor_plane, level_rotation

    tilt = axis_angle_to_matrix(np.array([np.radians(8), 0.0, np.radians(-5)]))
    normal = tilt @ [0.0, 1.0, 0.0]
    xz = RNG.uniform(-2, 2, (200, 2))
    pts = np.stack([xz[:, 0], np.zeros(200), xz[:, 1]], 1) @ tilt.T - 1.4 * normal + RNG.normal(0, 0.01, (200, 3))
    n, h = floor_plane(pts, np.array([0.0, 1.0, 0.0]), prior=0.02)  # a weak prior: the contacts decide
    assert np.degrees(np.arccos(n @ normal)) < 1.0 and abs(h + 1.4) < 0.01
    n, _ = floor_plane(pts, np.array([0.0, 1.0, 0.0]))  # the default prior pulls a little toward the trunk
    assert 0.5 * 8 < np.degrees(np.arccos(n[1])) < 9.5
    # contacts along one line (x) only: the tilt about x is unknown, the prior (straight up) holds it
    line = pts[np.abs(xz[:, 1]) < 0.05]
    n, _ = floor_plane(line, np.array([0.0, 1.0, 0.0]), prior=0.02)
    assert abs(n[2]) < 0.02 and abs(np.degrees(np.arcsin(n[0])) - np.degrees(np.arcsin(normal[0]))) < 1.5
    np.testing.assert_allclose(level_rotation(normal) @ normal, [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(level_rotation(np.array([0.0, 1.0, 0.0])), np.eye(3), atol=1e-12)


def test_unsliding_along_the_line_of_sight_keeps_the_sideways_slide():
    """A body standing still whose fit slides both sideways (x) and in depth (z) while the camera looks along z:
    restricted to the line of sight, the depth slide goes and the sideways one, which the image measured, stays."""
    t = 90
    drift = np.linspace(0.0, 0.3, t)
    feet = np.zeros((t, 2, 3))
    feet[:, 0, 0], feet[:, 1, 0] = 0.1, -0.1
    feet[..., 0] += drift[:, None]  # sideways
    feet[..., 2] += drift[:, None]  # in depth
    root = np.stack([drift, np.full(t, 0.9), drift], axis=1)
    sight = np.tile([0.0, 1.0], (t, 1))  # (x, z): looking along +z
    free, _ = ground_and_unslide(root, feet, fps=30, contact=np.ones((t, 2), bool), floor=0.0)
    seen, _ = ground_and_unslide(root, feet, fps=30, contact=np.ones((t, 2), bool), floor=0.0, along=sight)
    assert np.abs(free[:, [0, 2]] - free[0, [0, 2]]).max() < 1e-9  # unrestricted: pinned in both directions
    np.testing.assert_allclose(seen[:, 0], root[:, 0], atol=1e-12)  # sideways: as fitted (on its pixels)
    np.testing.assert_allclose(seen[:, 2], seen[0, 2], atol=1e-9)  # depth: pinned


def test_smooth_motion_has_no_lag_on_a_steady_turn_and_walk():
    """A whole clip is smoothed at once: a joint turning and a root walking at constant rates come out where they
    were, to the clip's ends (a forward-only One-Euro filter runs behind them by ~1/(2π·cutoff) s: at strength
    0.5, 1.2 m/s and 60°/s, 3 cm and 1.5° late)."""
    t = 60
    s = np.arange(t) / 30.0
    pose = np.zeros((t, 24, 3))
    pose[:, 1, 0] = np.radians(60.0) * s - 0.5  # the left hip turning at 60°/s
    transl = np.stack([1.2 * s, np.full(t, 0.9), np.zeros(t)], 1)
    noisy = transl + 0.005 * RNG.standard_normal(transl.shape)
    p, tr = smooth_motion(pose, noisy, 30, strength=0.5)
    assert abs((tr - transl)[5:-5, 0].mean()) < 0.002  # metres: on time (a lag is a bias against the walk)
    assert np.abs(tr - transl)[5:-5, 0].max() < 0.01  # ... and within the noise's size
    assert np.degrees(np.abs(p[5:-5, 1, 0] - pose[5:-5, 1, 0])).max() < 0.2


def test_smooth_path_removes_jitter_and_keeps_a_constant_velocity_to_the_ends():
    from inference.motion_metrics import accel_error
    from inference.temporal import gaussian_smooth, smooth_path

    t = 90
    s = np.arange(t) / 30.0
    clean = np.stack([1.2 * s, 0.9 + 0.02 * np.sin(2 * np.pi * 1.8 * s), -0.5 * s], 1)  # a walk, its bob
    noisy = clean + 0.004 * RNG.standard_normal(clean.shape)
    out = smooth_path(noisy, 2.0)
    assert accel_error(out[:, None], clean[:, None], 30) < 0.35 * accel_error(noisy[:, None], clean[:, None], 30)
    assert np.abs(out - clean).max() < 0.01  # the bob (2 cm at 1.8 Hz) loses a quarter, the noise most of it
    line = clean.copy()
    line[:, 1] = 0.9
    assert np.allclose(smooth_path(line, 3.0), line, atol=1e-9)  # a straight walk stays exactly straight
    # holding the ends (gaussian_smooth) slows the walk down at both ends of the clip
    assert np.abs(gaussian_smooth(line, 3.0) - line).max() > 0.03


def test_smooth_rotations_removes_a_turns_noise_and_keeps_a_steady_pan():
    from scipy.spatial.transform import Rotation

    from inference.temporal import smooth_rotations

    t = 60
    clean = Rotation.from_euler("yx", np.stack([np.linspace(0, 40, t), np.full(t, -10.0)], 1), degrees=True)
    noise = Rotation.from_rotvec(np.radians(0.3) * RNG.standard_normal((t, 3)))
    noisy = (noise * clean).as_matrix()
    out = smooth_rotations(noisy, 2.0)

    def err(r):
        return np.degrees((Rotation.from_matrix(r) * clean.inv()).magnitude())

    assert err(out).mean() < 0.5 * err(noisy).mean()
    assert np.allclose(Rotation.from_matrix(out).as_matrix() @ np.swapaxes(out, 1, 2), np.eye(3), atol=1e-9)
    assert err(smooth_rotations(clean.as_matrix(), 2.0)).max() < 0.01  # a steady pan, to the ends
