"""Retargeting a BodyRig motion onto another humanoid armature, without Blender.

The bpy layer (operators/retarget.py) reads rests and poses into plain arrays and writes keys; everything in
between lives here as small numpy functions:
- roles.py: the body roles a bone map fills (pelvis, spine chain, legs, arms) and how each one is aimed.
- bonemap.py: presets as JSON data files (presets/*.json), name matching (namespaces, DEF-/ORG- prefixes, side
  conventions L/R, .l/.r, _l/_r, Left/Right) and AUTO detection with the roles it could not map.
- transfer.py: per-bone world-orientation transfer between different rests, chain distribution, root travel
  scaled by leg length, and the local (parent-space) rotations a pose bone needs for a world rotation.
- footlock.py: planted-foot detection and a two-bone IK pass that keeps planted feet still.

Frames: world space is Blender's (Z up, metres after object scale); matrices act on column vectors.
"""
