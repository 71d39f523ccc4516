"""PIFu: a clothed, coloured mesh of the person in one photo, from PIFu's released `net_G` / `net_C` weights.

Modules: networks (the two networks, checkpoint-compatible), checkpoints (safe strict loading), surface
(occupancy grids: dense / fast / lossless coarse-to-fine, marching cubes), query (networks -> point queries),
crop (the 512x512 input), meshio (.ply/.obj with vertex colours), reconstruct (image -> mesh), cli.
Nothing here imports torch at module level.
"""
