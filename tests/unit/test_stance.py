"""Foot contacts judged from the pose (inference.stance) on a synthetic walk whose world path slides.

The walk is generated here: a pelvis walking at 1.2 m/s along a curve (turning 90°), one foot planted on the
floor while the other swings forwards (eased), then the other way round; the "fit" sees the body-local feet
with a few millimetres of jitter and the world path with a depth-like random walk of 1.5 cm a frame, the noise
that made contacts read off the world feet no better than chance on the rendered clips.
"""

from __future__ import annotations

import numpy as np

FPS = 30.0
HALF = 15  # frames per step: each foot planted for 15 frames, then swinging for 15


def _walk(t=150, seed=0):
    """→ (root [T,3] true, feet [T,4,3] true world (L ankle, R ankle, L toe, R toe), planted [T,4] bool,
    heading [T,2])."""
    rng = np.random.default_rng(seed)
    yaw = np.linspace(0.0, np.pi / 2, t)
    heading = np.stack([np.sin(yaw), np.cos(yaw)], 1)  # (x, z)
    speed = 1.2 / FPS
    root = np.zeros((t, 3))
    root[1:, [0, 2]] = np.cumsum(heading[1:] * speed, axis=0)
    root[:, 1] = 0.9
    side = np.stack([heading[:, 1], -heading[:, 0]], 1)  # the body's left, horizontal
    feet = np.zeros((t, 4, 3))
    planted = np.zeros((t, 4), bool)
    for f, sign in ((0, 1.0), (1, -1.0)):  # left starts planted, right swinging
        offset = 0 if f == 0 else HALF
        anchor = root[0, [0, 2]] + 0.1 * sign * side[0]
        for i in range(t):
            phase = (i + offset) % (2 * HALF)
            if phase < HALF:  # planted: where it landed
                if phase == 0:
                    anchor = root[i, [0, 2]] + heading[i] * 0.25 + 0.1 * sign * side[i]
                pos = anchor
                planted[i, [f, f + 2]] = True
            else:  # swinging: from where it was to a quarter step ahead of the pelvis at the landing
                s = (phase - HALF + 1) / HALF
                land = min(i + 2 * HALF - phase, t - 1)
                target = root[land, [0, 2]] + heading[land] * 0.25 + 0.1 * sign * side[land]
                pos = anchor + (target - anchor) * (1 - np.cos(np.pi * s)) / 2
            feet[i, f, [0, 2]] = pos
            feet[i, f + 2, [0, 2]] = pos + 0.15 * heading[i]
        feet[:, f, 1], feet[:, f + 2, 1] = 0.08, 0.03
        # a swinging foot is lifted a little
    lift = ~planted
    feet[..., 1] += 0.05 * lift
    return root, feet, planted, heading, rng


def _fitted(root, feet, rng):
    """What a per-frame fit gives: body-local feet with 3 mm jitter, a world path sliding by a random walk."""
    jitter = rng.normal(0, 0.003, feet.shape)
    slide = np.cumsum(rng.normal(0, 0.015, (len(root), 3)), axis=0) * [1.0, 0.0, 1.0]
    rel = feet - root[:, None] + jitter
    return rel, root + slide, root[:, None] + slide[:, None] + rel


def _skate(feet, planted):
    step = np.linalg.norm(np.diff(feet[..., [0, 2]], axis=0), axis=-1)
    return step[planted[1:] & planted[:-1]].mean()


def test_the_planted_foot_is_found_from_the_pose_while_the_world_path_slides():
    from inference.stance import stance_contacts

    root, feet, planted, heading, rng = _walk()
    rel, _, _ = _fitted(root, feet, rng)
    got = stance_contacts(rel, heading, FPS)
    precision = (got & planted).sum() / got.sum()
    recall = (got & planted).sum() / planted.sum()
    assert precision > 0.9 and recall > 0.6


def test_unsliding_on_the_poses_contacts_removes_most_of_the_skate():
    from inference.stance import stance_contacts
    from inference.temporal import ground_and_unslide
    from inference.world_frame import contacts

    root, feet, planted, heading, rng = _walk(seed=1)
    rel, path, seen = _fitted(root, feet, rng)
    before = _skate(seen, planted)
    new_path, _ = ground_and_unslide(path, seen, FPS, contact=stance_contacts(rel, heading, FPS), floor=0.0)
    after = _skate(new_path[:, None] + rel, planted)
    assert before > 0.015  # the slide: ~2 cm a frame
    assert after < before / 3
    # the world feet's own contacts (low and still once smoothed), along the line of sight from a camera 5 m
    # behind the start, as place_in_world unslid before: most of the skate stays (17 of 20 mm/frame)
    sight = (path - [0.0, 0.0, 5.0])[:, [0, 2]]
    sight = sight / np.linalg.norm(sight, axis=1, keepdims=True)
    old_path, _ = ground_and_unslide(path, seen, FPS, contact=contacts(seen, FPS), floor=0.0, along=sight)
    assert after < _skate(old_path[:, None] + rel, planted) / 2


def test_legs_that_do_not_step_give_no_contacts():
    """A body carried along with its legs still (a fit whose legs do not step, a person on a moving walkway):
    nothing says a foot is planted, so nothing is pinned."""
    from inference.stance import stance_contacts

    t = 60
    rel = np.repeat(np.array([[0.1, -0.8, 0.0], [-0.1, -0.8, 0.0], [0.1, -0.85, 0.15], [-0.1, -0.85, 0.15]])[None],
                    t, 0)
    rel = rel + np.random.default_rng(2).normal(0, 0.003, rel.shape)
    assert not stance_contacts(rel, np.tile([0.0, 1.0], (t, 1)), FPS).any()


def test_short_runs_are_dropped():
    from inference.stance import keep_runs

    on = np.array([0, 1, 1, 0, 1, 1, 1, 1, 0, 1], bool)
    assert keep_runs(on, 3).tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 0, 0]
