"""Run inside Debian 13's Blender with a real window under Xvfb (`blender --factory-startup -P gui_driver.py -- WORK
OUT`) by test_real_blender.py, after driver.py installed the extension and its dependencies into the same user
folder. Drives the UI from timers and captures the X screen with `xwd -root` (Blender's own screenshot operator
gives black images under software GL) at three moments:

- sidebar.xwd: the BodyRig tab of the 3D view's sidebar after a photo import,
- preferences.xwd: the extension's preferences with the dependency panel,
- video_progress.xwd: a video import running, its progress in the status bar.

OUT (JSON) records what each stage saw; the test converts the captures to PNG.
"""

import json
import os
import subprocess
import sys
import time
import traceback

import bpy

WORK, OUT = sys.argv[sys.argv.index("--") + 1:][:2]
MODULE = "bl_ext.user_default.bodyrig"
report = {"stages": {}, "status_texts": [], "concluded": []}


def save():
    with open(OUT, "w") as fh:
        json.dump(report, fh, indent=1, default=str)


def capture(name):
    path = os.path.join(WORK, name + ".xwd")
    subprocess.run(["xwd", "-root", "-silent", "-display", os.environ["DISPLAY"], "-out", path], check=True,
                   timeout=60)
    return path


def main_window():
    return bpy.context.window_manager.windows[0]


def view3d(window):
    area = max((a for a in window.screen.areas if a.type == "VIEW_3D"), key=lambda a: a.width * a.height)
    region = next(r for r in area.regions if r.type == "WINDOW")
    return area, region


def armatures():
    return [o for o in bpy.data.objects if o.type == "ARMATURE"]


def job_ended(label):
    """True once the job `label` concluded; raises with its error when it failed."""
    for record in report["concluded"]:
        if record["label"] == label:
            if record["error"]:
                raise RuntimeError(f"{label} failed: {record['error']}")
            return True
    return False


def enable():
    import addon_utils

    addon_utils.enable(MODULE, default_set=True, handle_error=None)
    # Record what the import operators write to the status bar (workspace.status_text_set cannot be read back).
    mixin = sys.modules[MODULE + ".operators.modal"].JobOperatorMixin
    original = mixin._set_status

    def recording(self, context, text):
        if text:  # None clears the status bar at the end
            report["status_texts"].append(text)
        return original(self, context, text)

    mixin._set_status = recording
    concluding = mixin._conclude

    def concluded(self, context):
        # The job's outcome, so a failed import ends the run at once instead of waiting for its timeout.
        error = self._job.error
        report["concluded"].append({"label": self._job.label, "error": None if error is None else repr(error)})
        return concluding(self, context)

    mixin._conclude = concluded
    return {"enabled": MODULE in bpy.context.preferences.addons}


def start_photo():
    bpy.ops.wm.read_homefile(use_empty=False)
    # The default cube, light and camera go: the character is what the screenshot shows.
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    window = main_window()
    area, region = view3d(window)
    photo = os.path.join(os.path.dirname(sys.modules[MODULE].__file__), "data", "sample_photo.jpg")
    with bpy.context.temp_override(window=window, area=area, region=region):
        result = bpy.ops.bodyrig.import_photo("EXEC_DEFAULT", filepath=photo, add_camera=False)
    return {"result": sorted(result)}


def show_sidebar():
    window = main_window()
    area, region = view3d(window)
    space = area.spaces.active
    space.show_region_ui = True
    space.shading.type = "SOLID"
    ui = next(r for r in area.regions if r.type == "UI")
    with bpy.context.temp_override(window=window, area=area, region=region):
        arm = armatures()[0]
        for obj in bpy.data.objects:
            obj.select_set(True)
        bpy.context.view_layer.objects.active = arm
        bpy.ops.view3d.view_axis(type="FRONT")
        bpy.ops.view3d.view_selected()
    return {"objects": sorted(o.name for o in bpy.data.objects), "bones": len(armatures()[0].data.bones)}


def on_bodyrig_tab():
    """Click the sidebar's tabs until it shows BodyRig (Region.active_panel_category is read-only in 4.3;
    Blender runs with --enable-event-simulate for Window.event_simulate)."""
    window = main_window()
    area, _ = view3d(window)
    ui = next(r for r in area.regions if r.type == "UI")
    report["stages"]["sidebar"]["tab"] = ui.active_panel_category
    if ui.active_panel_category == "BodyRig":
        return True
    # Click down the tab strip at the region's right edge, 15 px a step, until the BodyRig tab is hit.
    step = _at.setdefault("tab_step", 0)
    _at["tab_step"] += 1
    x, y = ui.x + ui.width - 10, ui.y + ui.height - 10 - 15 * step
    window.event_simulate(type="MOUSEMOVE", value="NOTHING", x=x, y=y)
    window.event_simulate(type="LEFTMOUSE", value="PRESS", x=x, y=y)
    window.event_simulate(type="LEFTMOUSE", value="RELEASE", x=x, y=y)
    return False


def show_preferences():
    """The 3D view becomes a Preferences editor (a full-size capture, unlike the small pop-up window), on
    Add-ons, filtered to BodyRig and expanded."""
    window = main_window()
    area, _ = view3d(window)
    area.type = "PREFERENCES"
    bpy.context.preferences.active_section = "ADDONS"
    bpy.context.window_manager.addon_search = "BodyRig"
    region = next(r for r in area.regions if r.type == "WINDOW")
    with bpy.context.temp_override(window=window, area=area, region=region):
        bpy.ops.preferences.addon_expand(module=MODULE)
    return {"area": area.type, "size": [area.width, area.height]}


def close_preferences():
    area = next(a for a in main_window().screen.areas if a.type == "PREFERENCES")
    area.type = "VIEW_3D"
    return {"areas": sorted(a.type for a in main_window().screen.areas)}


def start_video():
    bpy.ops.wm.read_homefile(use_empty=False)
    window = main_window()
    area, region = view3d(window)
    with bpy.context.temp_override(window=window, area=area, region=region):
        result = bpy.ops.bodyrig.import_video("EXEC_DEFAULT", filepath=os.path.join(WORK, "clip_long.mp4"))
    return {"result": sorted(result)}


def status_text():
    """The last status bar text BodyRig set (recorded by the hook enable() puts on the operators' mixin)."""
    return report["status_texts"][-1] if report["status_texts"] else ""


def video_progressing():
    text = status_text()
    if "frames" in text and "/" in text:
        return True
    if job_ended("Fitting video"):  # raises if it failed
        raise RuntimeError(f"the video import ended before showing frame progress; last status {text!r}")
    return False


def video_done():
    return job_ended("Fitting video") and any(o.type == "ARMATURE" and o.animation_data for o in bpy.data.objects)


# (name, action or None, wait-until predicate or None, then capture name or None, timeout s)
PLAN = [
    ("enable", enable, None, None, 30),
    ("photo", start_photo, lambda: job_ended("Fitting photo") and bool(armatures()), None, 600),
    ("sidebar", show_sidebar, on_bodyrig_tab, "sidebar", 60),
    ("preferences", show_preferences, None, "preferences", 30),
    ("close_preferences", close_preferences, None, None, 30),
    ("video", start_video, video_progressing, "video_progress", 600),
    ("video_done", None, video_done, None, 900),
]
_at = {"index": 0, "phase": "act", "since": time.time(), "settle": 0}


def tick():
    """One timer tick: run the current stage's action, wait for its predicate, let Blender redraw, capture."""
    if _at["index"] >= len(PLAN):
        report["finished"] = True
        save()
        bpy.ops.wm.quit_blender()
        return None
    name, action, until, shot, timeout = PLAN[_at["index"]]
    stage = report["stages"].setdefault(name, {})
    try:
        if _at["phase"] == "act":
            stage.update((action() or {}) if action else {})
            _at.update(phase="wait", since=time.time())
            return 0.5
        if _at["phase"] == "wait":
            if until is not None and not until():
                if time.time() - _at["since"] > timeout:
                    raise TimeoutError(f"stage {name}: not done after {timeout} s")
                return 0.5
            _at.update(phase="settle", settle=0)
            return 0.5
        # settle: a couple of redraws before the capture, so the screen shows the new state
        _at["settle"] += 1
        for window in bpy.context.window_manager.windows:
            for area in window.screen.areas:
                area.tag_redraw()
        if _at["settle"] < (1 if name == "video" else 4):
            return 0.5
        if shot:
            stage["capture"] = capture(shot)
            stage["status_text"] = status_text()
        stage["seconds"] = round(time.time() - _at["since"], 1)
        _at.update(index=_at["index"] + 1, phase="act")
        save()
        return 0.2
    except Exception as exc:
        stage.update(error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        report["finished"] = False
        save()
        bpy.ops.wm.quit_blender()
        return None


bpy.app.timers.register(tick, first_interval=2.0, persistent=True)
