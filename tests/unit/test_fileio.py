"""Atomic writes: all or nothing under the final name, and ordinary file permissions."""

import os
import stat

import pytest

from inference.fileio import atomic_path, atomic_write_text


def test_written_file_has_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644
    assert (tmp_path / "a.json").read_text() == "{}"


def test_failure_leaves_neither_target_nor_temporary(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "b.npz") as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_existing_file_is_replaced_only_on_success(tmp_path):
    target = tmp_path / "c.txt"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_text("new, half")
            raise KeyboardInterrupt
    assert target.read_text() == "old"
    atomic_write_text(target, "new")
    assert target.read_text() == "new" and len(list(tmp_path.iterdir())) == 1


# --------------------------------------------------------------------------- verified writes (issue 14, case 1)
import errno  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import struct  # noqa: E402

import numpy as np  # noqa: E402

from inference.errors import BodyRigError, OutputWriteError  # noqa: E402
from inference.fileio import check_complete, is_complete, remove_stale_temporaries  # noqa: E402


def _glb() -> bytes:
    """A minimal glTF binary: header + one JSON chunk, the header's length = the file's size."""
    doc = json.dumps({"asset": {"version": "2.0"}}).encode()
    doc += b" " * (-len(doc) % 4)
    body = struct.pack("<II", len(doc), 0x4E4F534A) + doc
    return b"glTF" + struct.pack("<II", 2, 12 + len(body)) + body


def _blend_v1() -> bytes:
    """Blender 5's layout: 17-byte header, 32-byte block headers, a final ENDB block."""
    block = b"TEST" + struct.pack("<iQqq", 0, 1, 8, 1) + b"12345678"
    return b"BLENDER17-01v0500" + block + b"ENDB" + bytes(28)


def _blend_v0() -> bytes:
    """The older layout, 8-byte pointers ('-'): 12-byte header, 24-byte block headers."""
    return b"BLENDER-v405" + b"TEST" + struct.pack("<iQii", 4, 1, 0, 1) + b"abcd" + b"ENDB" + bytes(20)


def _blend_zstd() -> bytes:
    """Compressed like Blender 3.0+: independent zstd frames, then a seek table in a skippable frame."""
    zstandard = pytest.importorskip("zstandard")
    raw = _blend_v1()
    frames = [zstandard.ZstdCompressor().compress(c) for c in (raw[:30], raw[30:])]
    entries = b"".join(struct.pack("<II", len(f), n) for f, n in zip(frames, (30, len(raw) - 30)))
    footer = struct.pack("<IBI", len(frames), 0, 0x8F92EAB1)
    return b"".join(frames) + struct.pack("<II", 0x184D2A5E, len(entries) + len(footer)) + entries + footer


def _npz() -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, poses=np.zeros((3, 72)), betas=np.ones(10))
    return buf.getvalue()


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 20, 30)).save(buf, "PNG")
    return buf.getvalue()


def _bvh() -> bytes:
    return (b"HIERARCHY\nROOT Hips\n{\n OFFSET 0 0 0\n CHANNELS 3 Xrotation Yrotation Zrotation\n"
            b" End Site\n {\n  OFFSET 0 1 0\n }\n}\nMOTION\nFrames: 2\nFrame Time: 0.04\n0 0 0\n1 1 1\n")


_FBX_FOOTER = b"\xf8\x5a\x8c\x6a\xde\xf5\xd9\x7e\xec\xe9\x0c\xe3\x75\x8f\x29\x0b"
COMPLETE = {
    ".glb": _glb, ".blend": _blend_v1, ".npz": _npz, ".png": _png, ".bvh": _bvh,
    ".json": lambda: json.dumps({"a": [1, 2, 3], "b": "x" * 40}).encode(),
    ".fbx": lambda: b"Kaydara FBX Binary  \x00\x1a\x00" + bytes(200) + _FBX_FOOTER,
}


@pytest.mark.parametrize("suffix", sorted(COMPLETE))
def test_complete_files_pass_and_every_truncation_fails(tmp_path, suffix):
    data = COMPLETE[suffix]()
    path = tmp_path / f"x{suffix}"
    path.write_bytes(data)
    check_complete(path)
    for cut in sorted({1, 2, 7, len(data) // 2, len(data) - 1}):
        path.write_bytes(data[:len(data) - cut])
        assert not is_complete(path), (suffix, cut)


@pytest.mark.parametrize("make", [_blend_v0, _blend_zstd], ids=["blend-v0", "blend-zstd"])
def test_other_blend_layouts(tmp_path, make):
    data = make()
    path = tmp_path / "x.blend"
    path.write_bytes(data)
    check_complete(path)
    for cut in (1, 9, len(data) // 2):
        path.write_bytes(data[:-cut])
        assert not is_complete(path), cut


def test_missing_and_empty_files_are_incomplete(tmp_path):
    assert not is_complete(tmp_path / "none.json")
    (tmp_path / "empty.json").write_bytes(b"")
    with pytest.raises(OutputWriteError, match="empty.json was not written completely"):
        check_complete(tmp_path / "empty.json")
    (tmp_path / "empty.txt").write_bytes(b"")  # a format without a check: an empty file may be intended
    check_complete(tmp_path / "empty.txt")


def test_writer_that_reports_success_but_left_a_truncated_file_is_not_renamed(tmp_path):
    """Blender's save can fail without raising: the bytes on disk decide, not the writer's word."""
    target = tmp_path / "scene.blend"
    target.write_bytes(_blend_v1())  # a good file from before stays
    with pytest.raises(OutputWriteError, match="scene.blend was not written completely"):
        with atomic_path(target) as tmp:
            tmp.write_bytes(_blend_v1()[:-40])
    assert target.read_bytes() == _blend_v1()
    assert [p.name for p in tmp_path.iterdir()] == ["scene.blend"]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_disk_errors_become_one_line_for_the_user(tmp_path, code):
    with pytest.raises(OutputWriteError) as info:
        with atomic_path(tmp_path / "m.npz") as tmp:
            tmp.write_bytes(b"PK")
            raise OSError(code, os.strerror(code))
    assert isinstance(info.value, BodyRigError) and "\n" not in str(info.value)
    assert errno.errorcode[code] in str(info.value) and "m.npz" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_other_os_errors_are_not_disguised(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic_path(tmp_path / "m.json"):
            raise FileNotFoundError(errno.ENOENT, "gone")


def test_file_and_folder_are_fsynced_before_and_after_the_rename(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        where = os.readlink(f"/proc/self/fd/{fd}")
        synced.append((where, (tmp_path / "a.json").exists()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    atomic_write_text(tmp_path / "a.json", "[1]")
    file_syncs = [exists for where, exists in synced if where.endswith(".json") and "/.a.json." in where]
    assert file_syncs == [False]  # the temporary, before the final name existed
    assert (str(tmp_path), True) in synced  # the folder, after the rename


def test_stale_temporaries_of_known_targets_are_removed(tmp_path):
    stale = [".a.glb.k3j4h5g6.glb", ".a.blend.zz_x9Q1w.blend", ".a.blend.zz_x9Q1w.blend@",
             ".summary.json.abcdEFGH.json"]
    keep = ["a.glb", ".other.glb.k3j4h5g6.glb", ".hidden", "b.json"]
    for name in stale + keep:
        (tmp_path / name).write_bytes(b"")
    removed = remove_stale_temporaries(tmp_path, ["a.glb", "a.blend", "summary.json"])
    assert sorted(p.name for p in removed) == sorted(stale)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(keep)
