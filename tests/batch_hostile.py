"""Generators of hostile batch conditions, made at test time: tiny tmpfs folders (full, read-only), stale
temporaries of a killed run, images in formats the batch must tell apart (GIF, AVIF), and the batch's worker
processes as seen from /proc."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_or_fail(reason: str):
    """Skip where the machine does not allow it, but fail under CI=true: CI must run these."""
    if CI:
        pytest.fail(f"{reason} (CI=true: this test must run)", pytrace=False)
    pytest.skip(reason)


@contextlib.contextmanager
def tmpfs(folder: Path, size: str):
    """A tmpfs of `size` (e.g. '3m') mounted on `folder` for the block (needs root or CAP_SYS_ADMIN)."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        skip_or_fail(f"cannot mount a tmpfs here: {((done.stderr or done.stdout).strip().splitlines() or ['?'])[0]}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def remount(folder: Path, options: str) -> None:
    """Change a mounted tmpfs: 'size=64m' (free space), 'ro' (read-only)."""
    subprocess.run(["mount", "-o", f"remount,{options}", str(folder)], check=True, capture_output=True)


def fill(folder: Path) -> None:
    """Write into `folder` until the disk is full."""
    with open(folder / "filler.bin", "wb") as fh:
        with contextlib.suppress(OSError):
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()


def stale_temporary(folder: Path, name: str) -> Path:
    """What `kill -9` during a write leaves: a 0-byte `.NAME.XXXXXXXX.ext` beside the target."""
    p = folder / f".{name}.k3j4h5g6{Path(name).suffix}"
    p.write_bytes(b"")
    return p


def no_person_image(path: Path, fmt: str) -> Path:
    """A colour pattern with nobody in it, saved by Pillow in `fmt` (GIF, AVIF...)."""
    from PIL import Image

    yy, xx = np.mgrid[0:120, 0:160]
    rgb = np.stack([xx * 2 % 256, yy * 2 % 256, (xx + yy) % 256], -1).astype(np.uint8)
    Image.fromarray(rgb).save(path, fmt)
    return path


def heic_like(path: Path) -> Path:
    """An ISO-BMFF file whose `ftyp` box says HEIC (a still image, not a video), with no image after it."""
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64))
    return path


def text_file(path: Path) -> Path:
    """A file that is neither a photo nor a video (fails fast)."""
    path.write_text("this is a text file, not a photo\n")
    return path


def children(pid: int) -> list[int]:
    """The direct child processes of `pid`."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                stat = (d / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d.name))
    return out


def worker_shard(pid: int) -> list | None:
    """The shard (list of [input, stem]) a batch worker process was given, or None."""
    with contextlib.suppress(OSError, ValueError):
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        if "--worker-shard" in argv:
            return json.loads(Path(argv[argv.index("--worker-shard") + 1]).read_text())
    return None


def alive(pid: int) -> bool:
    """Running (a zombie counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
