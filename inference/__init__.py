"""BodyRig's inference package: photos and videos → SMPL bodies, with no Blender dependency.

May import: torch, numpy, scipy, opencv, mediapipe, smplx, anny, scikit-image. Never bpy or mathutils.
Runs in any Python 3.11; `python -m inference --help` lists the command-line tools. Heavy modules (torch,
mediapipe) are imported inside the functions that need them so that importing this package stays cheap.
"""

__version__ = "0.1.0"
