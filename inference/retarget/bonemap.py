"""Bone maps: which bones of a rig play which role (roles.py), from preset data files or recognised by name.

A preset (presets/<id>.json) is data: {"name", "description", "bones": {role: [candidate names]},
"signature": [names that identify the rig], "properties": {bone: {property: value}}}. A single role takes the
first candidate the rig has; a chain role (spine, neck) takes every candidate the rig has, in order. A preset
that names no right-side role gets them as the left side's names mirrored (a saved map names both sides, and
a role it leaves out stays unmapped). `properties` are pose-bone custom properties
the retarget keys once (Rigify's IK/FK switches set to FK, so that its FK controls drive the deform bones).

Names are compared by a key, so one preset serves a rig whatever its conventions: the namespace before ':' or
'|' (mixamorig:, mixamorig1:) and a DEF-/ORG-/MCH- prefix are dropped, the side is read from Left/Right or an
L/R/l/r suffix or prefix after '.', '_', '-' or ' ' (thigh.L, thigh_l, LeftUpLeg, L_Thigh, Bip01 L Thigh),
and the rest is lower-cased without separators. An exact name always wins over a key match.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadInputError
from .roles import CHAINS, ROLES, mirror

PRESET_DIR = Path(__file__).with_name("presets")
_NAMESPACE = re.compile(r"^.*[:|]")
_DEFORM_PREFIX = re.compile(r"^(DEF|ORG|MCH)[-_.]", re.IGNORECASE)
_PREFIX_RANK = {"def": 1, "org": 2, "mch": 3}
_SEP = r"[._\- ]"
_SIDE_PATTERNS = (
    re.compile(rf"^(?P<rest>.+?){_SEP}(?P<side>left|right|[lr])$", re.IGNORECASE),  # thigh.L, thigh_left
    re.compile(r"^(?P<side>left|right)(?P<rest>.+)$", re.IGNORECASE),  # LeftUpLeg, left_hip
    re.compile(rf"^(?P<side>[lr]){_SEP}(?P<rest>.+)$", re.IGNORECASE),  # L_Thigh
    re.compile(rf"^(?P<head>.+?){_SEP}(?P<side>[lr]){_SEP}(?P<rest>.+)$", re.IGNORECASE),  # Bip01 L Thigh
)


def name_key(name: str) -> tuple[str, str, int]:
    """(side 'L'|'R'|'', stem, prefix rank) of a bone name; rank 0 without a DEF-/ORG-/MCH- prefix."""
    base = _NAMESPACE.sub("", name)
    rank = 0
    m = _DEFORM_PREFIX.match(base)
    if m:
        rank = _PREFIX_RANK[m.group(1).lower()]
        base = base[m.end():]
    side = ""
    for pattern in _SIDE_PATTERNS:
        m = pattern.match(base)
        if m:
            side = m.group("side")[0].upper()
            base = (m.groupdict().get("head") or "") + m.group("rest")
            break
    return side, re.sub(r"[^0-9a-z]", "", base.lower()), rank


def _flip(side: str) -> str:
    return {"L": "R", "R": "L"}.get(side, side)


@dataclass(frozen=True)
class Preset:
    """A preset as read from its data file (see the module docstring)."""

    id: str
    name: str
    bones: dict
    description: str = ""
    signature: tuple = ()
    properties: dict = field(default_factory=dict)


@dataclass(frozen=True)
class BoneMap:
    """role → bone names of one rig (chains root to tip); `unmapped`: the roles it has no bone for."""

    bones: dict
    preset: str = "custom"
    properties: dict = field(default_factory=dict)

    @property
    def unmapped(self) -> tuple:
        return tuple(r for r in ROLES if not self.bones.get(r))

    def first(self, role: str) -> str | None:
        names = self.bones.get(role)
        return names[0] if names else None

    def to_json(self) -> dict:
        """The map as a preset file's content (exact names for every mapped role)."""
        return {"name": self.preset, "description": "saved by BodyRig",
                "bones": {r: list(self.bones[r]) for r in ROLES if self.bones.get(r)},
                "properties": self.properties}


def _read_preset(path: Path, preset_id: str) -> Preset:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BadInputError(f"cannot read the bone-map preset '{path}': {e}") from e
    bones = raw.get("bones") if isinstance(raw, dict) else None
    if not isinstance(bones, dict):
        raise BadInputError(f"the bone-map preset '{path}' has no \"bones\" object")
    unknown = sorted(set(bones) - set(ROLES))
    if unknown:
        raise BadInputError(f"the bone-map preset '{path}' names unknown roles {unknown}; roles are {list(ROLES)}")
    clean = {}
    for role, names in bones.items():
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise BadInputError(f"the bone-map preset '{path}': role '{role}' must list bone names")
        clean[role] = tuple(names)
    props = raw.get("properties", {})
    if not isinstance(props, dict):
        raise BadInputError(f"the bone-map preset '{path}': \"properties\" must be an object")
    return Preset(id=preset_id, name=str(raw.get("name", preset_id)), bones=clean,
                  description=str(raw.get("description", "")), signature=tuple(raw.get("signature", ())),
                  properties=props)


def preset_ids() -> tuple:
    """The shipped presets' ids (file stems), in AUTO's order of preference for ties."""
    order = json.loads((PRESET_DIR / "order.json").read_text(encoding="utf-8"))
    return tuple(order)


def load_preset(preset_id_or_path) -> Preset:
    """A shipped preset by id ('mixamo', 'rigify', …) or a preset file by path."""
    text = str(preset_id_or_path)
    if text.lower() in preset_ids():
        return _read_preset(PRESET_DIR / f"{text.lower()}.json", text.lower())
    path = Path(text)
    if not path.is_file():
        raise BadInputError(f"no bone-map preset '{text}': use one of {list(preset_ids())} or a .json preset file")
    return _read_preset(path, path.stem)


def save_bone_map(bone_map: BoneMap, path) -> Path:
    """Write `bone_map` as a preset file that load_preset reads back."""
    from ..fileio import atomic_path

    path = Path(path)
    with atomic_path(path, suffix=".json") as tmp:
        Path(tmp).write_text(json.dumps(bone_map.to_json(), indent=2), encoding="utf-8")
    return path


class _NameIndex:
    """The rig's bone names, looked up exactly or by key (best prefix rank first)."""

    def __init__(self, names):
        self.names = set(names)
        self.by_key = {}
        for n in names:
            side, stem, rank = name_key(n)
            self.by_key.setdefault((side, stem), []).append((rank, n))
        for v in self.by_key.values():
            v.sort()

    def find(self, candidate: str, flip: bool) -> tuple[str | None, bool]:
        """(bone name or None, exact?) for a preset's candidate name (mirrored to the other side when flip)."""
        if not flip and candidate in self.names:
            return candidate, True
        side, stem, _ = name_key(candidate)
        hits = self.by_key.get((_flip(side) if flip else side, stem))
        if not hits:
            return None, False
        return hits[0][1], hits[0][0] == 0


def _resolve(preset: Preset, index: _NameIndex) -> tuple[dict, float]:
    bones, score = {}, 0.0
    one_sided = not any(r.startswith("right_") for r in preset.bones)
    for role in ROLES:
        flip = one_sided and role.startswith("right_") and mirror(role) in preset.bones
        candidates = preset.bones.get(mirror(role) if flip else role, ())
        found = []
        for c in candidates:
            name, exact = index.find(c, flip)
            if name is None or name in found:
                continue
            found.append(name)
            score += 1.0 if exact else 0.75
            if role not in CHAINS:
                break
        if found:
            bones[role] = tuple(found)
    score += 0.25 * sum(1 for s in preset.signature if index.find(s, False)[0] is not None)
    return bones, score


def resolve(preset, bone_names) -> BoneMap:
    """The bone map of a rig with `bone_names` under `preset` (a Preset, an id or a path)."""
    preset = preset if isinstance(preset, Preset) else load_preset(preset)
    bones, _ = _resolve(preset, _NameIndex(list(bone_names)))
    props = {b: dict(p) for b, p in preset.properties.items() if b in set(bone_names)}
    return BoneMap(bones=bones, preset=preset.id, properties=props)


def detect(bone_names, min_roles: int = 8) -> BoneMap:
    """AUTO: the shipped preset that maps the most roles of this rig (exact names count more than key matches,
    signature bones break ties). BadInputError when none maps `min_roles` roles."""
    names = list(bone_names)
    index = _NameIndex(names)
    best = None
    for pid in preset_ids():
        preset = load_preset(pid)
        bones, score = _resolve(preset, index)
        if len(bones) >= min_roles and (best is None or score > best[0]):
            best = (score, preset, bones)
    if best is None:
        raise BadInputError(f"no bone-map preset fits this rig ({len(names)} bones; none of "
                            f"{list(preset_ids())} maps {min_roles} roles): pick the bones by hand or load a preset file")
    _, preset, bones = best
    props = {b: dict(p) for b, p in preset.properties.items() if b in set(names)}
    return BoneMap(bones=bones, preset=preset.id, properties=props)


def bone_map_from_json(data: dict, bone_names=None) -> BoneMap:
    """A map from a preset-file-like dict with exact names; with `bone_names`, names the rig lacks are an error."""
    bones = {}
    for role, names in (data.get("bones") or {}).items():
        if role not in ROLES:
            raise BadInputError(f"unknown role '{role}' in the bone map; roles are {list(ROLES)}")
        names = (names,) if isinstance(names, str) else tuple(names)
        names = tuple(n for n in names if n)
        if bone_names is not None:
            missing = [n for n in names if n not in set(bone_names)]
            if missing:
                raise BadInputError(f"the bone map's role '{role}' names bones the rig lacks: {missing}")
        if names:
            bones[role] = names
    return BoneMap(bones=bones, preset=str(data.get("name", "custom")), properties=dict(data.get("properties", {})))
