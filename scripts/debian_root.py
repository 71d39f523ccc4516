"""A Debian 13 (trixie) root with the distribution's Blender (4.3.2, Python 3.13), for the real-Blender tier.

Built once per machine with debootstrap under ``${XDG_CACHE_HOME:-~/.cache}/bodyrig/``: into a temporary folder,
renamed into place only when complete, so an interrupted build is never mistaken for a root. Needs root and
debootstrap. The Debian mirror comes from ``BODYRIG_DEBIAN_MIRROR`` or this machine's apt sources.

    python scripts/debian_root.py build      # build (or reuse) the root, print its path
    python scripts/debian_root.py run -- blender --version
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

SUITE = "trixie"
# What the tier runs: Blender and the system numpy it takes, an X server and a capture tool for screenshots,
# pip for the dependency button, libGL for opencv-contrib and libGLESv2/libEGL for libmediapipe (both pulled in
# by mediapipe; Blender's own packages do not bring them), CA roots for PyPI.
PACKAGES = ("blender", "python3-numpy", "python3-pip", "xvfb", "xauth", "x11-apps", "libgl1", "libgles2", "libegl1",
            "ca-certificates")
# Changing the recipe changes the folder, so an old root is never reused for a new package list.
RECIPE = hashlib.sha256(f"{SUITE} {' '.join(PACKAGES)} v1".encode()).hexdigest()[:10]
# Inside the root: pip's download cache (kept with the root so reruns are fast), a wheelhouse per requirement set
# (pip's HTTP cache needs PyPI's cache headers, which a proxy may drop) and the host's CA bundle.
PIP_CACHE = "/var/cache/bodyrig-pip"
WHEELS = "/var/cache/bodyrig-wheels"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
ROOT_CA = "/etc/ssl/host-ca-certificates.crt"
BOUND = ("proc", "sys", "dev")


class RootError(RuntimeError):
    """The root cannot be built or entered on this machine (the message says why)."""


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bodyrig"


def root_path() -> Path:
    return cache_dir() / f"debian-{SUITE}-{RECIPE}"


def mirror() -> str:
    """The Debian mirror: $BODYRIG_DEBIAN_MIRROR, else the first non-security Debian URI in the apt sources."""
    env = os.environ.get("BODYRIG_DEBIAN_MIRROR")
    if env:
        return env
    found = []
    for f in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        found += re.findall(r"^URIs:\s*(\S+)", f.read_text(), flags=re.M)
    for f in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]:
        if f.is_file():
            found += re.findall(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", f.read_text(), flags=re.M)
    for uri in found:
        if re.search(r"/debian/?$", uri):
            return uri
    raise RootError("no Debian mirror in /etc/apt/sources.list.d; set BODYRIG_DEBIAN_MIRROR to one")


def why_not() -> str | None:
    """Why the root cannot be built here, or None when it can."""
    if os.geteuid() != 0:
        return "the real-Blender tier needs root (debootstrap, chroot and bind mounts)"
    if not root_path().is_dir() and shutil.which("debootstrap") is None:
        return "debootstrap is not installed (apt-get install debootstrap)"
    return None


@contextlib.contextmanager
def mounted(root: Path):
    """Bind /proc, /sys and /dev into the root; every mount made is undone, whatever happens."""
    done = []
    # A SIGTERM (CI's timeout, a kill) would end Python without running `finally`: make it an exception here.
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        for name in BOUND:
            target = root / name
            target.mkdir(exist_ok=True)
            subprocess.run(["mount", "--rbind", f"/{name}", str(target)], check=True)
            done.append(target)
            subprocess.run(["mount", "--make-rslave", str(target)], check=True)
        yield root
    finally:
        for target in reversed(done):
            if subprocess.run(["umount", "-R", str(target)]).returncode != 0:
                subprocess.run(["umount", "-R", "-l", str(target)], check=True)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def chroot(root: Path, command: list[str], env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    """Run `command` in the root (mounts bound for the call). `kw` goes to subprocess.run."""
    base = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
            "LANG": "C.UTF-8", "PIP_CACHE_DIR": PIP_CACHE, "DEBIAN_FRONTEND": "noninteractive"}
    if (root / ROOT_CA.lstrip("/")).is_file():
        # The host's CA bundle: pip (run by the dependency button) must trust what the host trusts.
        base.update(SSL_CERT_FILE=ROOT_CA, PIP_CERT=ROOT_CA, REQUESTS_CA_BUNDLE=ROOT_CA)
    with mounted(root):
        return subprocess.run(["chroot", str(root), *command], env={**base, **(env or {})}, **kw)


def _refresh_network_files(root: Path) -> None:
    """The host's resolver and CA bundle, so apt and pip in the root reach the mirror and PyPI."""
    shutil.copy2("/etc/resolv.conf", root / "etc" / "resolv.conf")
    if HOST_CA.is_file():
        (root / ROOT_CA.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(HOST_CA, root / ROOT_CA.lstrip("/"))


def build(log=sys.stderr) -> Path:
    """The root, built now if missing (minutes: debootstrap, then apt-get install of PACKAGES)."""
    final = root_path()
    if final.is_dir():
        _refresh_network_files(final)
        return final
    reason = why_not()
    if reason:
        raise RootError(reason)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{final.name}.tmp-", dir=final.parent))
    try:
        url = mirror()
        print(f"[debian-root] debootstrap {SUITE} from {url} into {tmp}", file=log, flush=True)
        subprocess.run(["debootstrap", "--variant=minbase", SUITE, str(tmp), url], check=True,
                       stdout=log, stderr=subprocess.STDOUT)
        (tmp / "etc/apt/sources.list").write_text(f"deb {url} {SUITE} main\n")
        _refresh_network_files(tmp)
        for cmd in (["apt-get", "update"],
                    ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES],
                    ["apt-get", "clean"]):
            print(f"[debian-root] {' '.join(cmd)}", file=log, flush=True)
            chroot(tmp, cmd, check=True, stdout=log, stderr=subprocess.STDOUT)
        (tmp / PIP_CACHE.lstrip("/")).mkdir(parents=True, exist_ok=True)
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def wheelhouse(root: Path, requirements: Path, extra=(), log=sys.stderr) -> str:
    """A folder in the root holding every wheel `requirements` (+ `extra` pins) resolves to, for Python 3.13.

    Downloaded once per set (its folder is named for the set's hash); pip installs from it with --no-index
    --find-links, the same resolution as against PyPI without fetching gigabytes again.
    """
    text = requirements.read_text() + "\n".join(extra)
    folder = f"{WHEELS}/{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    if (root / folder.lstrip("/") / ".complete").is_file():
        return folder
    (root / "tmp").mkdir(exist_ok=True)
    shutil.copy2(requirements, root / "tmp" / "bodyrig-requirements.txt")
    print(f"[debian-root] pip download {requirements.name} {' '.join(extra)} into {folder}", file=log, flush=True)
    chroot(root, ["python3", "-m", "pip", "download", "--disable-pip-version-check", "-q", "-d", folder,
                  "-r", "/tmp/bodyrig-requirements.txt", *extra], check=True, stdout=log, stderr=subprocess.STDOUT)
    (root / folder.lstrip("/") / ".complete").write_text(text)
    return folder


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("build", help="build (or reuse) the root and print its path")
    run = sub.add_parser("run", help="run a command inside the root")
    run.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    try:
        root = build()
        if args.cmd == "build":
            print(root)
            return 0
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        return chroot(root, command or ["bash"]).returncode
    except (RootError, subprocess.CalledProcessError) as e:
        print(f"debian_root: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
