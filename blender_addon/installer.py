"""The dependency installer: what BodyRig needs beyond Blender's bundled Python, and one button that installs it.

pip runs with Blender's own Python (sys.executable) into the extension's private user folder
(`bpy.utils.extension_path_user(<package>, path="site-packages")`), which `register` adds to sys.path. The
work runs on a worker thread (operators/modal.Job) so Blender stays responsive; pip's output is kept so a failure
is shown with pip's exact error text. Blender's "Allow Online Access" setting is honoured: offline, the button
refuses and says how to allow it (or which command installs the same thing by hand).

What it installs is one tested set of exact pins per Python line (requirements-py311.txt, -py313.txt here; the
development venv installs the 3.11 set, tests/real_blender the 3.13 set in Debian 13's Blender); any other Python
gets one message saying which Blenders are supported.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import bpy

from . import root_package

# What each distribution is for, and the module it provides. The pins are per Python line, in the requirement
# sets next to this file (one tested set per line); numpy is never in them: it is pinned to Blender's own.
DEPENDENCIES = {
    "torch": ("torch", "fitting and networks (PyTorch)"),
    "mediapipe": ("mediapipe", "finding the person and keypoints"),
    "opencv-contrib-python": ("cv2", "reading photos and videos"),
    "smplx": ("smplx", "SMPL skinning"),
    "scipy": ("scipy", "optimisation helpers"),
    "anny": ("anny", "building the open body"),
    "scikit-image": ("skimage", "images and PIFu surfaces"),
    "smplcodec": ("smplcodec", ".smpl motion files"),
    "tqdm": ("tqdm", "progress of command-line video fits"),
}
# Python line -> requirement set file (Blender 4.2 LTS, 4.5 LTS, 5.0 run 3.11; Blender 5.1+ run 3.13).
REQUIREMENT_SETS = {(3, 11): "requirements-py311.txt", (3, 13): "requirements-py313.txt"}
HERE = Path(__file__).resolve().parent

_state = {"job": None, "log": "", "error": "", "done": ""}


def python_problem(version=None) -> str | None:
    """Why the dependencies cannot be installed for this Python (one clear message), or None."""
    line = tuple((version or sys.version_info)[:2])
    if line in REQUIREMENT_SETS:
        return None
    tested = " and ".join("{}.{}".format(*v) for v in REQUIREMENT_SETS)
    return (f"BodyRig's dependencies are tested for Python {tested} (Blender 4.2 to 5.0, and 5.1 or later); "
            f"this Blender runs Python {line[0]}.{line[1]}: use one of those Blenders")


def requirement_set(version=None) -> dict[str, str]:
    """{distribution: exact version} of the tested set for this Python line (raises BodyRigError off them)."""
    from ..inference.errors import BodyRigError

    problem = python_problem(version)
    if problem:
        raise BodyRigError(problem)
    pins = {}
    for line in (HERE / REQUIREMENT_SETS[tuple((version or sys.version_info)[:2])]).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, pinned = line.partition("==")
            if not sep or not pinned:
                raise BodyRigError(f"requirement set line {line!r} is not an exact pin (name==version)")
            pins[name.strip()] = pinned.strip()
    return pins


def installed_version(distribution: str) -> str | None:
    """The installed version of `distribution` on sys.path, without its local label (2.13.0+cpu -> 2.13.0)."""
    try:
        return importlib.metadata.version(distribution).split("+", 1)[0]
    except importlib.metadata.PackageNotFoundError:
        return None


def dependency_status() -> list[tuple[str, str, str, bool]]:
    """[(import name, requirement, purpose, installed)] without importing anything.

    Installed means importable and, where pip's metadata is there, at the pinned version: an older BodyRig's
    packages (e.g. mediapipe 0.10.14) left in the private folder count as missing, so the button replaces them.
    """
    # On an unsupported Python, list what is needed, unpinned; the panel and the button say python_problem().
    pins = {} if python_problem() else requirement_set()
    out = []
    for distribution, (module, purpose) in DEPENDENCIES.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        version = installed_version(distribution) if found else None
        want = pins.get(distribution)
        if found and want and version is not None and version != want:
            found = False
        requirement = f"{distribution}=={want}" if want else distribution
        out.append((module, requirement, purpose, found))
    return out


def missing_requirements() -> list[str]:
    return [req for _, req, _, found in dependency_status() if not found]


def site_packages(create: bool = True) -> str | None:
    """The extension's private site-packages folder, or None outside an installed extension."""
    root = root_package()
    try:
        return bpy.utils.extension_path_user(root, path="site-packages", create=create)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def add_site_packages() -> str | None:
    """Put the private site-packages on sys.path (after Blender's own modules). Returns it."""
    path = site_packages(create=True)
    if path and path not in sys.path:
        sys.path.append(path)
        importlib.invalidate_caches()
    return path


def remove_site_packages() -> None:
    path = site_packages(create=False)
    if path and path in sys.path:
        sys.path.remove(path)


def pip_command(requirements, target: str) -> list[str]:
    """pip install with Blender's own Python into `target`.

    pip --target installs every dependency again, whatever Blender has; mediapipe and jax would bring a numpy
    of their own choosing that could shadow Blender's and break modules built against it. So numpy is pinned
    to the version Blender ships.
    """
    pins = []
    try:
        import numpy

        pins.append(f"numpy=={numpy.__version__}")
    except ImportError:
        pass
    return [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
            "--upgrade", "--target", target, *requirements, *pins]


def run_pip(command, progress=None) -> str:
    """Run a pip command, feeding each output line to `progress(message)`. Returns the whole output.

    Raises BodyRigError with pip's error lines (its exact text) when pip fails or is missing.
    """
    from ..inference.errors import BodyRigError

    lines = []
    env = dict(os.environ, PYTHONNOUSERSITE="1")
    try:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    except OSError as exc:
        raise BodyRigError(f"could not start pip with {command[0]}: {exc}") from None
    for line in proc.stdout:
        line = line.rstrip()
        lines.append(line)
        if progress is not None and line:
            progress(line[:120])
    proc.wait()
    output = "\n".join(lines)
    if proc.returncode != 0:
        errors = [ln for ln in lines if ln.startswith("ERROR") or "error" in ln.lower()] or lines[-5:]
        raise BodyRigError("pip failed (exit {}): {}".format(proc.returncode, " | ".join(errors)))
    return output


def ensure_pip(progress=None) -> None:
    """Blender's Python ships ensurepip but not always pip itself."""
    if importlib.util.find_spec("pip") is None:
        run_pip([sys.executable, "-m", "ensurepip", "--upgrade"], progress)


def install(requirements, target: str, progress=None) -> str:
    """ensurepip if needed, then pip install `requirements` into `target`. Returns pip's output."""
    ensure_pip(progress)
    return run_pip(pip_command(requirements, target), progress)


class BODYRIG_OT_install_dependencies(bpy.types.Operator):
    """Install BodyRig's missing Python packages (PyTorch, MediaPipe, ...) into Blender with pip"""

    bl_idname = "bodyrig.install_dependencies"
    bl_label = "Install Dependencies"
    bl_options = {"REGISTER", "INTERNAL"}

    def execute(self, context):
        from ..operators import modal

        Job, has_window = modal.Job, modal.has_window

        problem = python_problem()
        if problem:
            _state["error"] = problem
            self.report({"ERROR"}, problem)
            return {"CANCELLED"}
        requirements = missing_requirements()
        if not requirements:
            self.report({"INFO"}, "BodyRig: all dependencies are installed")
            return {"FINISHED"}
        target = site_packages(create=True)
        if not bpy.app.online_access:
            message = ("Blender is offline: allow online access in Preferences > System > Network to install "
                       f"BodyRig's dependencies, or run: {' '.join(pip_command(requirements, target or 'DIR'))}")
            _state["error"] = message
            self.report({"ERROR"}, message)
            return {"CANCELLED"}
        if target is None:
            self.report({"ERROR"}, "BodyRig is not installed as an extension; install it with pip yourself")
            return {"CANCELLED"}
        job = Job(lambda progress: install(requirements, target, progress), label="Installing dependencies")
        _state.update(job=job, error="", done="")
        if not has_window(context):
            job.run_here()
            return self._conclude(job)
        job.start()
        bpy.app.timers.register(lambda: _poll(job), first_interval=0.5)
        self.report({"INFO"}, f"BodyRig: installing {', '.join(requirements)} in the background")
        return {"FINISHED"}

    def _conclude(self, job):
        from ..inference.errors import BodyRigError

        ok = _finish(job)
        if not ok:
            if not isinstance(job.error, BodyRigError):
                from ..operators.staging import report_failure

                return report_failure(self, job.error)
            self.report({"ERROR"}, _state["error"])
            return {"CANCELLED"}
        self.report({"INFO"}, _state["done"])
        return {"FINISHED"}


def _finish(job) -> bool:
    """Record the job's outcome in the state the preferences panel draws; True on success."""
    _state["job"] = None
    if job.error is not None:
        _state["error"] = str(job.error)
        return False
    importlib.invalidate_caches()
    _state["log"] = job.result or ""
    _state["done"] = "BodyRig: dependencies installed" + (
        "" if not missing_requirements() else f"; still missing: {', '.join(missing_requirements())}")
    return True


def _poll(job):
    """bpy.app.timers callback on the main thread: redraw the preferences until the job ends."""
    for window in getattr(bpy.context.window_manager, "windows", ()):
        for area in window.screen.areas:
            if area.type == "PREFERENCES":
                area.tag_redraw()
    if not job.done:
        return 0.5
    _finish(job)
    return None


def installer_state() -> dict:
    """What the preferences panel shows: the running job (fraction, message), the last error or success."""
    return _state


CLASSES = (BODYRIG_OT_install_dependencies,)
