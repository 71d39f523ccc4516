"""The dependency installer: what BodyRig needs beyond Blender's bundled Python, and one button that installs it.

pip runs with Blender's own Python (sys.executable) into the extension's private user folder
(`bpy.utils.extension_path_user(<package>, path="site-packages")`), which `register` adds to sys.path. The
work runs on a worker thread (operators/modal.Job) so Blender stays responsive; pip's output is kept so a failure
is shown with pip's exact error text. Blender's "Allow Online Access" setting is honoured: offline, the button
refuses and says how to allow it (or which command installs the same thing by hand).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import bpy

from . import root_package

# (import name, pip requirement, what it is for). numpy comes with Blender.
DEPENDENCIES = (
    ("torch", "torch", "fitting and networks (PyTorch)"),
    ("mediapipe", "mediapipe==0.10.14", "finding the person and keypoints"),
    ("cv2", "opencv-python-headless<4.11", "reading videos"),
    ("smplx", "smplx", "SMPL skinning"),
    ("scipy", "scipy", "optimisation helpers"),
    ("anny", "anny", "building the open body"),
    ("skimage", "scikit-image", "images and PIFu surfaces"),
    ("smplcodec", "smplcodec", ".smpl motion files"),
)

_state = {"job": None, "log": "", "error": "", "done": ""}


def dependency_status() -> list[tuple[str, str, str, bool]]:
    """[(import name, requirement, purpose, installed)] without importing anything."""
    out = []
    for module, requirement, purpose in DEPENDENCIES:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
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
