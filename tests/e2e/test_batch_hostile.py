"""The batch under hostile conditions (issue 14): a full or read-only --out, a rerun after a failed or killed
run, --out inside an input folder, name collisions with the report, signals, killed workers, image formats
sniffed as videos, names starting with '-'."""

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.batch_hostile import (alive, children, fill, heic_like, no_person_image, remount, stale_temporary,
                                 text_file, tmpfs, worker_shard)

REPO = Path(__file__).resolve().parents[2]
BATCH = REPO / "scripts" / "batch.py"
PHOTO = REPO / "data" / "sample_photo.jpg"


def _cmd(*args):
    return [sys.executable, str(BATCH), *map(str, args)]


def _run(*args, cwd=REPO, env=None):
    return subprocess.run(_cmd(*args), capture_output=True, text=True, timeout=600, cwd=cwd, env=env)


def _summary(out: Path):
    summary = json.loads((out / "summary.json").read_text())
    return {Path(r["input"]).name: r for r in summary["inputs"]}, summary["totals"]


def _final_files(out: Path):
    return sorted(p for p in out.iterdir() if not p.name.startswith("."))


def _assert_readable(path: Path):
    """Checked without BodyRig's own verifier: each format opened by its reader (or its header read)."""
    if path.suffix == ".json":
        json.loads(path.read_text())
    elif path.suffix == ".glb":
        data = path.read_bytes()
        assert data[:4] == b"glTF" and struct.unpack_from("<I", data, 8)[0] == len(data), path
    elif path.suffix == ".blend":
        bpy = pytest.importorskip("bpy")
        bpy.ops.wm.open_mainfile(filepath=str(path))
        assert [o.type for o in bpy.data.objects if o.type == "ARMATURE"] == ["ARMATURE"], path
        bpy.ops.wm.read_factory_settings(use_empty=True)
    else:
        raise AssertionError(f"unexpected output {path}")


def _photos(folder: Path, *names) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(PHOTO, folder / name)
    return folder


# ------------------------------------------------------------------------------------- case 1: full disk
def test_full_tmpfs_fails_one_input_keeps_a_summary_and_a_rerun_completes(tmp_path):
    """3 MB fit one photo's .blend + .glb (~2.3 MB), not two: the second input fails on its own, nothing
    unreadable gets a final name, and a rerun with space redoes what is missing or not complete."""
    inputs = _photos(tmp_path / "in", "a.jpg", "b.jpg")
    with tmpfs(tmp_path / "out", "3m") as out:
        proc = _run(inputs, "--out", out, "--format", "json,blend,glb")
        assert proc.returncode == 1, proc.stderr[-3000:]
        assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
        recs, totals = _summary(out)
        assert set(recs) == {"a.jpg", "b.jpg"} and totals["failed"] >= 1, recs
        for rec in recs.values():  # (with bpy 5.0's compressed .blend, a fits and b does not)
            if rec["status"] == "failed":
                assert "traceback" not in rec and "internal error" not in rec["error"], rec
                assert "\n" not in rec["error"] and "space" in rec["error"].lower(), rec["error"]
            else:
                assert rec["status"] == "ok", rec
        assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporaries left
        for p in _final_files(out):
            _assert_readable(p)
        assert {p.name for p in _final_files(out)} <= {"a.json", "a.blend", "a.glb", "b.json", "summary.json"}

        # with free space: b is done; a, whose JSON was damaged since, is redone rather than skipped;
        # the 0-byte temporary a kill -9 leaves is removed
        remount(out, "size=64m")
        (out / "a.json").write_text((out / "a.json").read_text()[:100])
        stale = stale_temporary(out, "b.glb")
        proc = _run(inputs, "--out", out, "--format", "json,blend,glb")
        assert proc.returncode == 0, proc.stderr[-3000:]
        recs, totals = _summary(out)
        assert recs["a.jpg"]["status"] == "ok" and recs["b.jpg"]["status"] == "ok", recs
        assert not stale.exists() and not [p for p in out.iterdir() if p.name.startswith(".")]
        assert {p.name for p in _final_files(out)} == {f"{s}.{f}" for s in "ab" for f in ("json", "blend", "glb")} \
            | {"summary.json"}
        for p in _final_files(out):
            _assert_readable(p)


@pytest.mark.parametrize("how", ["full", "read-only"])
def test_unwritable_summary_is_a_one_line_stop_with_exit_3(tmp_path, how):
    inputs = tmp_path / "in"
    inputs.mkdir()
    text_file(inputs / "notes.jpg")
    with tmpfs(tmp_path / "out", "256k") as out:
        fill(out) if how == "full" else remount(out, "ro")
        proc = _run(inputs, "--out", out, "--format", "json")
        assert proc.returncode == 3, proc.stderr[-3000:]
        assert "Traceback" not in proc.stderr
        lines = [line for line in proc.stderr.splitlines() if "error" in line]
        assert len(lines) == 1 and "summary could not be written" in lines[0], proc.stderr[-3000:]
        assert ("ENOSPC" if how == "full" else "EROFS") in lines[0]
        assert not [p for p in out.iterdir() if p.name.startswith(".")]


# ------------------------------------------------------------------------------------- case 8: batch
def test_out_in_the_input_folder_and_an_input_named_summary(tmp_path):
    """summary.jpg's JSON must not overwrite the report, and a rerun onto the same folder must not take the
    batch's own outputs (summary.json, summary_2.json, an old .blend) as inputs."""
    folder = _photos(tmp_path / "photos", "summary.jpg")
    text_file(folder / "notes.jpg")
    (folder / "old.blend").write_bytes(b"BLENDER")
    proc = _run(folder, "--out", folder, "--format", "json")
    assert proc.returncode == 1, proc.stderr[-3000:]
    recs, totals = _summary(folder)  # the report is still the report
    assert set(recs) == {"summary.jpg", "notes.jpg"}, recs
    assert recs["summary.jpg"]["status"] == "ok" and recs["summary.jpg"]["outputs"] == [str(folder / "summary_2.json")]
    assert "pose" in json.loads((folder / "summary_2.json").read_text())
    proc = _run(folder, "--out", folder, "--format", "json")
    recs, totals = _summary(folder)
    assert set(recs) == {"summary.jpg", "notes.jpg"}, recs
    assert recs["summary.jpg"]["status"] == "skipped" and totals["inputs"] == 2


def test_gif_and_avif_are_read_as_photos_heic_is_refused_by_name(tmp_path):
    from PIL import features

    folder = tmp_path / "in"
    folder.mkdir()
    no_person_image(folder / "pattern.gif", "GIF")
    formats = ["GIF"]
    if features.check("avif"):
        no_person_image(folder / "pattern.avif", "AVIF")
        formats.append("AVIF")
    heic_like(folder / "still.heic")  # an image container too, which Pillow does not decode: said so
    proc = _run(folder, "--out", tmp_path / "out", "--format", "json")
    recs, _ = _summary(tmp_path / "out")
    heic = recs.pop("still.heic")
    assert "HEIC/HEIF image" in heic["error"] and "convert it to JPEG or PNG" in heic["error"], heic
    assert len(recs) == len(formats), recs
    for rec in recs.values():  # decoded, then searched for a person: read as a photo, not a video
        assert rec["status"] == "failed" and "no person" in rec["error"].lower(), rec
    assert proc.returncode == 1


def test_an_input_starting_with_a_dash_after_double_dash(tmp_path):
    text_file(tmp_path / "-odd.jpg")
    proc = _run("--out", tmp_path / "out", "--format", "json", "--", "-odd.jpg", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr[-3000:]
    recs, _ = _summary(tmp_path / "out")
    assert recs["-odd.jpg"]["status"] == "failed" and "neither a photo nor a video" in recs["-odd.jpg"]["error"]


def _start(args, tmp_path, **kw):
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmpdir"))
    (tmp_path / "tmpdir").mkdir()
    return subprocess.Popen(_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=REPO, **kw)


def _wait_for(condition, timeout=120.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_a_killed_worker_fails_only_the_input_it_was_doing(tmp_path):
    folder = _photos(tmp_path / "in", "a_photo.jpg")
    for name in ("b1.jpg", "c2.jpg", "d3.jpg"):
        text_file(folder / name)
    out = tmp_path / "out"
    proc = _start([folder, "--out", out, "--format", "json", "--workers", "2"], tmp_path)

    def photo_worker():  # the worker whose shard starts with the photo (the other shard is quick)
        for pid in children(proc.pid):
            shard = worker_shard(pid)
            if shard and Path(shard[0][0]).name == "a_photo.jpg":
                return pid
        return None

    os.kill(_wait_for(photo_worker), signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 1, stderr[-3000:]
    recs, totals = _summary(out)
    assert set(recs) == {"a_photo.jpg", "b1.jpg", "c2.jpg", "d3.jpg"}
    assert "killed by signal 9" in recs["a_photo.jpg"]["error"], recs["a_photo.jpg"]
    for name in ("b1.jpg", "c2.jpg", "d3.jpg"):  # c2 shared the killed worker's shard: done by a replacement
        assert "neither a photo nor a video" in recs[name]["error"], recs[name]
    assert list((tmp_path / "tmpdir").iterdir()) == []


@pytest.mark.parametrize("workers,sig,count,code", [(2, signal.SIGTERM, 1, 143), (2, signal.SIGINT, 3, 130),
                                                    (1, signal.SIGINT, 2, 130), (1, signal.SIGTERM, 1, 143)],
                         ids=["workers-sigterm", "workers-3-ctrl-c", "one-2-ctrl-c", "one-sigterm"])
def test_signals_stop_the_workers_and_write_the_summary(tmp_path, workers, sig, count, code):
    """SIGTERM goes to the parent alone (a service manager); Ctrl-C to the whole process group (a terminal)."""
    folder = _photos(tmp_path / "in", "a.jpg", "b.jpg")
    out = tmp_path / "out"
    proc = _start([folder, "--out", out, "--format", "json", "--workers", str(workers)], tmp_path,
                  start_new_session=True)
    seen = set()
    if workers > 1:
        seen.update(_wait_for(lambda: len(children(proc.pid)) >= workers and children(proc.pid)))
    time.sleep(2.0)  # well into the work (imports, fitting)
    assert proc.poll() is None
    seen.update(children(proc.pid))
    for _ in range(count):
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)
        time.sleep(0.05)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    recs, totals = _summary(out)
    assert totals["interrupted"] is True
    assert not [pid for pid in seen if alive(pid)]  # workers stopped
    assert list((tmp_path / "tmpdir").iterdir()) == []  # no shard folder left
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_a_video_stopped_in_the_batch_process_still_exits_with_the_signal(tmp_path, monkeypatch):
    """--workers 1 fits videos in the batch's own process: the signal's Interrupted reaches fit_video, which keeps
    the fitted frames and raises its own VideoInterrupted; the batch must still stop as for any signal (143, the
    summary says interrupted, no traceback) rather than die of the video's exception."""
    sys.path.insert(0, str(REPO / "scripts"))
    import batch

    from inference.video import VideoInterrupted

    calls = []

    def fit_stopped_by_sigterm(path, stem, opts):  # what fit_video does with a KeyboardInterrupt mid-fit
        calls.append(path)
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):  # the handler runs at the next bytecode boundary
                pass
        except KeyboardInterrupt:
            raise VideoInterrupted(None, 0) from None
        raise AssertionError("the signal did not reach the fit")

    monkeypatch.setattr(batch, "process_one", fit_stopped_by_sigterm)
    folder, out = _photos(tmp_path / "in", "a.jpg", "b.jpg"), tmp_path / "out"
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = batch.main([str(folder), "--out", str(out), "--format", "json", "--workers", "1"])
    finally:
        for s, h in before.items():
            signal.signal(s, h)
    assert code == 143 and len(calls) == 1
    recs, totals = _summary(out)
    assert totals["interrupted"] is True and recs == {}
