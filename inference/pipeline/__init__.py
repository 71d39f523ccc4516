"""The use cases, each taking one frozen `Settings` (no bpy): the only place the stages are wired together.

- `fit_photo(image, settings)` → PhotoFit (the BodyFit, the body model, the detection it used)
- `video_motion(path, settings)` → MotionResult (world-frame MotionFit and the body)
- `world_motion(path, settings | rest_pelvis)` → MotionResult (a motion file in the world frame)
- `clothed_mesh(image, settings)` → ClothedResult (PIFu's mesh and the fit it binds to)
Front ends (operators/settings.py + operators/import_ops.py, `python -m inference`, scripts/batch.py,
scripts/demo.py) build a Settings and call these.
"""

from .clothed import ClothedResult, clothed_mesh, require_pifu
from .photo import PhotoFit, fit_photo
from .settings import Settings
from .video import MotionResult, video_motion, world_motion

__all__ = ["ClothedResult", "MotionResult", "PhotoFit", "Settings", "clothed_mesh", "fit_photo",
           "require_pifu", "video_motion", "world_motion"]
