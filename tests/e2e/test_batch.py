"""The batch script end to end: statuses, outputs that open in Blender, resume, and two workers."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
BATCH = REPO / "scripts" / "batch.py"

def _run(*args):
    return subprocess.run([sys.executable, str(BATCH), *map(str, args)], capture_output=True, text=True,
                          timeout=900, cwd=REPO)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, photos_dir):
    import cv2

    d = tmp_path_factory.mktemp("batch_inputs")
    shutil.copy(REPO / "data" / "sample_photo.jpg", d / "skier.jpg")
    shutil.copy(photos_dir / "000000040083.jpg", d / "second.jpg")
    data = (REPO / "data" / "sample_photo.jpg").read_bytes()
    (d / "corrupt.jpg").write_bytes(data[: len(data) // 3])
    (d / "notes.jpg").write_text("this is a text file, not a photo\n")
    yy, xx = np.mgrid[0:240, 0:320]
    empty = np.stack([xx % 256, yy % 256, (xx + yy) % 256], -1).astype(np.uint8)  # no person in it
    cv2.imwrite(str(d / "empty.png"), empty)
    writer = cv2.VideoWriter(str(d / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25, (160, 120))
    for k in range(10):
        frame = np.full((120, 160, 3), 40, np.uint8)
        cv2.circle(frame, (20 + 10 * k, 60), 10, (255, 255, 255), -1)
        writer.write(frame)
    writer.release()
    return d


def _statuses(out_dir):
    summary = json.loads((out_dir / "summary.json").read_text())
    return {Path(r["input"]).name: r for r in summary["inputs"]}, summary["totals"]


@pytest.fixture(scope="module")
def first_run(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("batch_out")
    proc = _run(inputs, "--out", out, "--format", "blend,npz,json")
    first = {name: dict(r) for name, r in _statuses(out)[0].items()}  # before the rerun test rewrites it
    return proc, out, first


def test_statuses_and_exit_code(first_run):
    proc, out, _ = first_run
    assert proc.returncode == 1, proc.stderr[-2000:]
    recs, totals = _statuses(out)
    assert set(recs) == {"skier.jpg", "second.jpg", "corrupt.jpg", "notes.jpg", "empty.png", "clip.mp4"}
    assert recs["skier.jpg"]["status"] == "ok" and recs["second.jpg"]["status"] == "ok"
    for name in ("corrupt.jpg", "notes.jpg", "empty.png"):
        assert recs[name]["status"] == "failed" and recs[name]["error"], name
        assert "internal error" not in recs[name]["error"], recs[name]
    assert "person" in recs["empty.png"]["error"].lower()
    assert "neither a photo nor a video" in recs["notes.jpg"]["error"]
    # the clip is a moving white disc: read as a video, then refused for having nobody in it
    assert recs["clip.mp4"]["status"] == "failed" and "no person found in clip.mp4" in recs["clip.mp4"]["error"]
    assert totals["ok"] + totals["failed"] + totals["skipped"] == 6
    assert all(r["seconds"].get("total", 0) > 0 for r in recs.values())
    # nothing half-written: no temporary files left behind
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_outputs_open_in_blender(first_run):
    bpy = pytest.importorskip("bpy")
    _, out, recs = first_run
    paths = [Path(p) for p in recs["skier.jpg"]["outputs"]]
    assert sorted(p.suffix for p in paths) == [".blend", ".json", ".npz"]
    blend = next(p for p in paths if p.suffix == ".blend")
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    arm = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    mesh = [o for o in bpy.data.objects if o.type == "MESH"]
    assert len(arm) == 1 and len(mesh) == 1 and len(arm[0].data.bones) == 24
    from inference.motion_io import load_motion

    motion = load_motion(next(p for p in paths if p.suffix == ".npz"))
    fit = json.loads(next(p for p in paths if p.suffix == ".json").read_text())
    assert motion.num_frames == 1 and np.asarray(fit["pose"]).shape == (24, 3)
    # File > Export .npz of the batch-built character gives the betas the fit returned (its JSON), not zeros.
    from bodyrig import operators

    operators.register()
    try:
        bpy.context.view_layer.objects.active = arm[0]
        exported = blend.with_name("exported.npz")
        assert bpy.ops.bodyrig.export(filepath=str(exported)) == {"FINISHED"}
        assert np.abs(fit["betas"]).max() > 1e-4
        np.testing.assert_allclose(load_motion(exported).betas, fit["betas"], atol=1e-6)
    finally:
        operators.unregister()
    bpy.ops.wm.read_factory_settings(use_empty=True)


def test_rerun_skips_done_inputs(first_run, inputs):
    _, out, _ = first_run
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name != "summary.json"}
    proc = _run(inputs, "--out", out, "--format", "blend,npz,json")
    recs, _ = _statuses(out)
    assert recs["skier.jpg"]["status"] == "skipped" and recs["second.jpg"]["status"] == "skipped"
    assert recs["notes.jpg"]["status"] == "failed"  # failures are retried, and fail again
    assert proc.returncode == 1
    after = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name in before}
    assert after == before  # skipped outputs were not rewritten


def test_two_workers_give_the_same_results(first_run, inputs, tmp_path):
    _, out1, one = first_run
    proc = _run(inputs, "--out", tmp_path, "--format", "blend,npz,json", "--workers", "2")
    assert proc.returncode == 1, proc.stderr[-2000:]
    two, totals = _statuses(tmp_path)
    assert {k: r["status"] for k, r in two.items()} == {k: r["status"] for k, r in one.items()}
    assert totals["workers"] == 2
    for name in ("skier.jpg", "second.jpg"):
        a = json.loads((out1 / f"{Path(name).stem}.json").read_text())
        b = json.loads((tmp_path / f"{Path(name).stem}.json").read_text())
        assert np.allclose(a["pose"], b["pose"], atol=1e-6) and np.allclose(a["transl"], b["transl"], atol=1e-6)


def test_usage_errors_exit_2(tmp_path):
    assert _run("--out", tmp_path).returncode == 2
    assert _run(REPO / "data" / "sample_photo.jpg", "--out", tmp_path, "--format", "obj").returncode == 2
    assert _run(tmp_path / "missing.jpg", "--out", tmp_path).returncode == 2
