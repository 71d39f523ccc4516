"""`Settings`: the one frozen description of a run that every front end builds (no bpy, no torch).

The operators (operators/settings.py: operator properties + add-on preferences), the CLI (`python -m inference`),
scripts/batch.py and scripts/demo.py each turn their own options into a Settings and hand it to the use cases
in inference.pipeline; nothing else decides which body, checkpoint or device a stage gets.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import BadInputError
from ..mediapipe_pose import DEFAULT_POSE_MODEL, POSE_MODELS

DEVICES = ("auto", "cpu", "cuda")
GENDERS = ("neutral", "male", "female")


@dataclass(frozen=True)
class Settings:
    """body: None/"open" (the open body), "tiny" or the path of an SMPL .pkl/.npz. gender: which SMPL file the
    front end picked (recorded on characters). checkpoint: an HMR checkpoint path or None. device: "auto" |
    "cpu" | "cuda". pose_model: MediaPipe's keypoint model, "full" or "heavy" (inference.mediapipe_pose). pifu_net_g / pifu_net_c: PIFu's checkpoint paths or None. shape_keys: build characters with
    editable shape keys. Video only: start/end (seconds), stride (every K-th frame), smooth (One-Euro strength
    0..1), person (None: the largest at the start; K: the K-th from the left).
    """

    body: str | None = None
    gender: str = "neutral"
    checkpoint: str | None = None
    device: str = "auto"
    pose_model: str = DEFAULT_POSE_MODEL
    pifu_net_g: str | None = None
    pifu_net_c: str | None = None
    shape_keys: bool = False
    start: float = 0.0
    end: float | None = None
    stride: int = 1
    smooth: float = 0.5
    person: int | None = None

    def __post_init__(self):
        if self.device not in DEVICES:
            raise BadInputError(f"device must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if self.pose_model not in POSE_MODELS:
            raise BadInputError(f"pose model must be one of {', '.join(POSE_MODELS)}, got {self.pose_model!r}")
        if self.gender not in GENDERS:
            raise BadInputError(f"gender must be one of {', '.join(GENDERS)}, got {self.gender!r}")
