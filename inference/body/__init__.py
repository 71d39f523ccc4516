"""Body models: SMPL-format arrays, the batched forward, safe file loading, the open body and the tiny model.

Imports here stay light (numpy only); torch and smplx are imported inside the functions that need them.
"""

from .load import body_label, body_model, load_body
from .model import BodyModel, BodyModelData, BodyOutput
from .skeleton import NUM_JOINTS, SMPL_JOINT_NAMES, SMPL_PARENTS
from .tiny import tiny_model

__all__ = ["BodyModel", "BodyModelData", "BodyOutput", "NUM_JOINTS", "SMPL_JOINT_NAMES", "SMPL_PARENTS",
           "body_label", "body_model", "load_body", "tiny_model"]
