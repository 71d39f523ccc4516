"""The body roles a bone map assigns bones to, and how each role's direction is measured.

A role is one part of a humanoid that both rigs have. `spine` and `neck` are chains: a rig may give them any
number of bones (root to tip); every other role is one bone. A role's direction at rest is the vector from its
(first) bone's head to the head of its aim role's first bone; a chain bone aims at the next bone of its chain.
Roles without an aim (head, toes, hands) are leaves: they keep their parent role's rest correction.
"""

from __future__ import annotations

CHAINS = ("spine", "neck")
SIDES = ("left", "right")
_LIMBS = ("hip", "knee", "ankle", "foot", "collar", "shoulder", "elbow", "wrist")

ROLES = ("pelvis", "spine", "neck", "head") + tuple(f"{s}_{limb}" for s in SIDES for limb in _LIMBS)

# Parent role of each role (pelvis is the root).
PARENT = {"pelvis": None, "spine": "pelvis", "neck": "spine", "head": "neck"}
# The role whose first bone's head a role points at; None: a leaf.
AIM = {"pelvis": None, "spine": "neck", "neck": "head", "head": None}
for _s in SIDES:
    PARENT.update({f"{_s}_hip": "pelvis", f"{_s}_knee": f"{_s}_hip", f"{_s}_ankle": f"{_s}_knee",
                   f"{_s}_foot": f"{_s}_ankle", f"{_s}_collar": "spine", f"{_s}_shoulder": f"{_s}_collar",
                   f"{_s}_elbow": f"{_s}_shoulder", f"{_s}_wrist": f"{_s}_elbow"})
    AIM.update({f"{_s}_hip": f"{_s}_knee", f"{_s}_knee": f"{_s}_ankle", f"{_s}_ankle": f"{_s}_foot",
                f"{_s}_foot": None, f"{_s}_collar": f"{_s}_shoulder", f"{_s}_shoulder": f"{_s}_elbow",
                f"{_s}_elbow": f"{_s}_wrist", f"{_s}_wrist": None})

# Roles whose direction is a limb's: what the retarget quality is measured on.
LIMB_ROLES = tuple(r for r in ROLES if AIM[r] is not None)
ROOT = "pelvis"


def mirror(role: str) -> str:
    """left_x ↔ right_x; other roles unchanged."""
    if role.startswith("left_"):
        return "right_" + role[5:]
    if role.startswith("right_"):
        return "left_" + role[6:]
    return role
