"""File > Import operators: photo → posed character, video → animation, motion file → animation, photo → PIFu mesh.

Each operator: a file browser with its filter, the work (inference) on a worker thread through
`modal.JobOperatorMixin` (synchronous without a window), every scene write in `finish` on the main thread inside
`staging.run_staged` (a failure removes whatever was added and cancels). torch and the rest of `inference` are
imported only when an operator runs.
"""

from __future__ import annotations

import os

import bpy
from bpy.props import BoolProperty, EnumProperty, StringProperty
from bpy_extras.io_utils import ImportHelper

from .modal import JobOperatorMixin
from .settings import settings_for
from .staging import report_failure, run_staged

PHOTO_GLOB = "*.jpg;*.jpeg;*.png;*.webp;*.bmp;*.tif;*.tiff"
VIDEO_GLOB = "*.mp4;*.mov;*.avi;*.mkv;*.webm;*.m4v"
MOTION_GLOB = "*.npz;*.smpl"

_GENDER = EnumProperty(
    name="Gender", description="Which SMPL file to use when the body model is SMPL (the open body is neutral)",
    items=(("NEUTRAL", "Neutral", ""), ("MALE", "Male", ""), ("FEMALE", "Female", "")), default="NEUTRAL")


def _name_from(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0] or "BodyRig"


def _check_file(path: str, kind: str):
    from ..inference.errors import BadInputError

    if not path or not os.path.isfile(bpy.path.abspath(path)):
        raise BadInputError(f"{kind} not found: {path or '(no file chosen)'}")
    return bpy.path.abspath(path)


class _ImportBase(JobOperatorMixin, ImportHelper):
    bl_options = {"REGISTER", "UNDO"}

    def invoke(self, context, event):
        return ImportHelper.invoke(self, context, event)

    def execute(self, context):
        try:
            self.settings = settings_for(self, context)
            work, finish, label = self.plan(context)
        except Exception as exc:  # nothing written yet
            return report_failure(self, exc)
        return self.start_job(context, work, finish, label=label)

    def plan(self, context):
        """→ (work(progress) -> result on the worker thread, finish(context, result) on the main thread, label)."""
        raise NotImplementedError


class BODYRIG_OT_import_photo(_ImportBase, bpy.types.Operator):
    """Fit an SMPL body to the person in a photo and build a rigged, posed character with the photo's camera"""

    bl_idname = "bodyrig.import_photo"
    bl_label = "Character from Photo"
    filter_glob: StringProperty(default=PHOTO_GLOB, options={"HIDDEN"})
    gender: _GENDER
    add_camera: BoolProperty(name="Add Camera", description="Add the photo's camera, made active", default=True)

    def plan(self, context):
        path = _check_file(self.filepath, "photo")
        s = self.settings

        def work(progress):
            from ..inference.pipeline import fit_photo
            from ..inference.progress import as_fraction

            return fit_photo(path, s, progress=as_fraction(progress))

        def finish(context, result):
            def build():
                from .photo_scene import character_from_fit

                character = character_from_fit(result.fit, result.body, name=_name_from(path),
                                               with_camera=self.add_camera)
                _select(context, character.armature)
                self.report({"INFO"}, f"BodyRig: character '{character.armature.name}' from {os.path.basename(path)}")

            return run_staged(self, context, build)

        return work, finish, "Fitting photo"


class BODYRIG_OT_import_video(_ImportBase, bpy.types.Operator):
    """Recover the motion of the person in a video and animate a new rigged character with it"""

    bl_idname = "bodyrig.import_video"
    bl_label = "Animation from Video"
    filter_glob: StringProperty(default=VIDEO_GLOB, options={"HIDDEN"})
    gender: _GENDER
    shape_keys: BoolProperty(name="Shape Keys", description="Shape as editable shape keys", default=False)

    def plan(self, context):
        path = _check_file(self.filepath, "video")
        s = self.settings

        def work(progress):
            from ..inference.pipeline import video_motion
            from ..inference.progress import as_fraction

            progress(0.0, "loading the body model")
            return video_motion(path, s, progress=as_fraction(progress, unit="frames"))

        def finish(context, result):
            return run_staged(self, context, lambda: _animate_new(self, context, result, _name_from(path)))

        return work, finish, "Fitting video"


class BODYRIG_OT_import_motion(_ImportBase, bpy.types.Operator):
    """Animate a character with a motion file (AMASS-style .npz or .smpl): a new one or the selected one"""

    bl_idname = "bodyrig.import_motion"
    bl_label = "Motion File (.npz/.smpl)"
    filter_glob: StringProperty(default=MOTION_GLOB, options={"HIDDEN"})
    target: EnumProperty(name="Apply To", items=(
        ("NEW", "New Character", "Build a new character with the file's shape"),
        ("SELECTED", "Selected Character", "Animate the selected BodyRig character"),
    ), default="NEW")
    gender: _GENDER
    shape_keys: BoolProperty(name="Shape Keys", description="Shape as editable shape keys", default=False)

    def plan(self, context):
        path = _check_file(self.filepath, "motion file")
        s = self.settings
        selected = None
        if self.target == "SELECTED":
            from .rig import character_of
            from ..inference.errors import BadInputError

            if context.active_object is None:
                raise BadInputError("select a BodyRig character (its armature or mesh) to apply the motion to")
            selected = character_of(context.active_object).armature

        pelvis = None if selected is None else tuple(selected.data.bones["pelvis"].head_local)

        def work(progress):
            from ..inference.pipeline import world_motion

            progress(0.2, "reading the motion")
            return world_motion(path, s, rest_pelvis=pelvis)

        def finish(context, result):
            if selected is None:
                return run_staged(self, context, lambda: _animate_new(self, context, result, _name_from(path)))

            def build():
                from .animate import animate
                from .photo_scene import add_motion_camera

                m = result.motion
                animate(selected, m.pose, m.transl, m.fps)
                add_motion_camera(selected.users_collection[0], m, name=f"{selected.name}_camera")
                self.report({"INFO"}, f"BodyRig: {m.num_frames} frames on '{selected.name}'")

            return run_staged(self, context, build)

        return work, finish, "Reading motion"


class BODYRIG_OT_import_pifu(_ImportBase, bpy.types.Operator):
    """Reconstruct the clothed, coloured surface of the person in a photo with PIFu"""

    bl_idname = "bodyrig.import_pifu"
    bl_label = "Clothed Mesh from Photo (PIFu)"
    filter_glob: StringProperty(default=PHOTO_GLOB, options={"HIDDEN"})
    bind: BoolProperty(name="Bind to Rig", description="Skin the clothed mesh to the fitted body's armature",
                       default=True)

    def plan(self, context):
        from ..inference.pipeline import require_pifu

        path = _check_file(self.filepath, "photo")
        s = self.settings
        require_pifu(s)

        def work(progress):
            from ..inference.pipeline import clothed_mesh
            from ..inference.progress import as_fraction

            return clothed_mesh(path, s, progress=as_fraction(progress))

        def finish(context, result):
            fit, data, mesh = result.photo.fit, result.photo.body, result.mesh

            def build():
                from .photo_scene import character_from_fit
                from .pifu_scene import import_pifu_mesh

                name = _name_from(path)
                character = character_from_fit(fit, data, name=name)
                clothed = import_pifu_mesh(mesh, fit, character=character, name=f"{name}_clothed", bind=self.bind,
                                           data=data)
                _select(context, character.armature)
                self.report({"INFO"}, f"BodyRig: clothed mesh '{clothed.name}' ({len(mesh.vertices)} vertices"
                                      f"{', bound to the rig' if self.bind else ''})")

            return run_staged(self, context, build)

        return work, finish, "PIFu reconstruction"


def _animate_new(operator, context, result, name):
    """Build a character with the motion's shape and key the motion on it (main thread)."""
    from .photo_scene import character_from_motion

    motion = result.motion
    character = character_from_motion(motion, result.body, name=name, shape_keys=operator.settings.shape_keys)
    _select(context, character.armature)
    operator.report({"INFO"}, f"BodyRig: {motion.num_frames} frames at {motion.fps:g} fps on '{name}'")


def _select(context, obj):
    view_layer = context.view_layer
    if view_layer is None or obj.name not in view_layer.objects:
        return
    for other in view_layer.objects:
        if other.select_get():
            other.select_set(False)
    obj.select_set(True)
    view_layer.objects.active = obj


CLASSES = (BODYRIG_OT_import_photo, BODYRIG_OT_import_video, BODYRIG_OT_import_motion, BODYRIG_OT_import_pifu)
