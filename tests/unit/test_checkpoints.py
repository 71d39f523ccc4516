"""inference.checkpoints: one cache for every network (HMR, PIFu): hits, bounds, file changes, threads."""

import os
import threading

import pytest
import torch

from inference import checkpoints


@pytest.fixture(autouse=True)
def empty_cache():
    checkpoints.clear_cache()
    yield
    checkpoints.clear_cache()


def _file(tmp_path, name):
    p = tmp_path / name
    torch.save({"weight": torch.ones(2, 2)}, p)
    return p


def _builder(calls):
    def build(path):
        calls.append(path)
        net = torch.nn.Linear(2, 2, bias=False)
        return checkpoints.load_strict(net, checkpoints.read_state_dict(path, "test net"), path, "test net")
    return build


def test_a_second_call_is_a_hit_and_a_changed_file_is_read_again(tmp_path):
    calls = []
    p = _file(tmp_path, "a.pt")
    first = checkpoints.cached_network("t", p, "cpu", _builder(calls))
    assert checkpoints.cached_network("t", p, "cpu", _builder(calls)) is first and len(calls) == 1
    assert torch.equal(first.weight, torch.ones(2, 2)) and not first.training
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))
    assert checkpoints.cached_network("t", p, "cpu", _builder(calls)) is not first and len(calls) == 2


def test_the_cache_is_bounded_least_recently_used_first(tmp_path):
    calls = []
    files = [_file(tmp_path, f"{k}.pt") for k in range(checkpoints.CACHE_SIZE + 1)]
    nets = [checkpoints.cached_network("t", f, "cpu", _builder(calls)) for f in files]
    assert checkpoints.cached_count() == checkpoints.CACHE_SIZE
    assert checkpoints.cached_network("t", files[-1], "cpu", _builder(calls)) is nets[-1]
    checkpoints.cached_network("t", files[0], "cpu", _builder(calls))  # the oldest was dropped: built again
    assert len(calls) == len(files) + 1


def test_threads_get_one_network(tmp_path):
    p = _file(tmp_path, "a.pt")
    calls, got = [], []
    first = checkpoints.cached_network("t", p, "cpu", _builder(calls))
    threads = [threading.Thread(target=lambda: got.append(checkpoints.cached_network("t", p, "cpu", _builder(calls))))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(g is first for g in got) and len(got) == 8 and len(calls) == 1


def test_strict_loading_names_what_differs(tmp_path):
    p = tmp_path / "bad.pt"
    torch.save({"weight": torch.ones(3, 2), "extra": torch.zeros(1)}, p)
    from inference.errors import ModelFileError

    with pytest.raises(ModelFileError, match=r"1 unexpected keys: extra; 1 shape mismatches: weight \(3, 2\) != \(2, 2\)"):
        checkpoints.cached_network("t", p, "cpu", _builder([]))
