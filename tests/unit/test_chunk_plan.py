"""inference.sequence_fit.plan_chunks: a person lost for longer than a chunk (or before the first sighting) is
skipped, never handed to fit_chunk without an observation; chunks otherwise cover every frame once."""

from __future__ import annotations

import numpy as np
import pytest

from inference.sequence_fit import plan_chunks


def _observed(n, seen):
    obs = np.zeros(n, bool)
    for a, b in seen:
        obs[a:b] = True
    return obs


def _check_cover(plan, obs, start, end):
    """Consecutive from `start` to `end`, every fitted chunk holds an observation, no skip holds one."""
    assert plan[0][0] == start and plan[-1][1] == end
    for (a, b, fit), (a2, _, _) in zip(plan, plan[1:]):
        assert b == a2
    for a, b, fit in plan:
        assert b > a
        assert obs[a:b].any() if fit else not obs[a:b].any()


@pytest.mark.parametrize("chunk", [4, 8, 32])
def test_gap_longer_than_a_chunk_is_skipped(chunk):
    obs = _observed(120, [(0, 20), (90, 120)])  # lost for 70 frames in the middle
    plan = plan_chunks(obs, 0, chunk, max_gap=15, final=True)
    _check_cover(plan, obs, 0, 120)
    skipped = [(a, b) for a, b, fit in plan if not fit]
    assert skipped and skipped[-1][1] == 90  # the fit resumes exactly where the person is seen again
    assert sum(b - a for a, b in skipped) >= 70 - chunk  # at most one chunk's tail reaches into the gap


def test_frames_before_the_first_sighting_are_skipped_and_after_the_last_never_planned():
    obs = _observed(100, [(40, 60)])  # found late, lost for good
    plan = plan_chunks(obs, 0, 8, max_gap=15, final=True)
    assert plan[0] == (0, 40, False)
    _check_cover(plan, obs, 0, 60)


def test_short_gap_longer_than_a_chunk_is_fitted_across_in_one_chunk():
    obs = _observed(40, [(0, 5), (15, 40)])  # a 10-frame gap, filled (max_gap 12) but longer than a chunk of 4
    plan = plan_chunks(obs, 0, 4, max_gap=12, final=True)
    _check_cover(plan, obs, 0, 40)
    assert all(fit for _, _, fit in plan)
    assert (8, 16, True) in plan  # stretched to the next observation instead of an empty chunk


def test_nobody_seen_plans_nothing():
    assert plan_chunks(np.zeros(50, bool), 0, 8, 15, final=True) == []


def test_streaming_plans_whole_chunks_only_and_resumes_where_it_stopped():
    obs = _observed(70, [(0, 10), (50, 70)])
    first = plan_chunks(obs[:55], 0, 8, max_gap=5, final=False)  # frames arriving: 55 so far
    assert all(b - a == 8 for a, b, fit in first if fit)
    done = first[-1][1]
    rest = plan_chunks(obs, done, 8, max_gap=5, final=True)
    _check_cover(first + rest, obs, 0, 70)
    assert plan_chunks(np.ones(5, bool), 0, 8, 2, final=False) == []  # not a whole chunk yet


def test_unchanged_when_the_person_is_always_seen():
    obs = np.ones(70, bool)
    assert plan_chunks(obs, 0, 32, 15, final=True) == [(0, 32, True), (32, 64, True), (64, 70, True)]
