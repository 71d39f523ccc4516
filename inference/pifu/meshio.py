"""Writing coloured triangle meshes: .ply (binary), .obj (vertex colours after the position) and .glb (glTF 2.0
binary: POSITION, COLOR_0, uint32 indices; glTF is Y-up like the mesh), atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import BadInputError
from ..fileio import atomic_write_bytes

FORMATS = (".ply", ".obj", ".glb")


def write_mesh(path, vertices, faces, colours=None) -> Path:
    """vertices [V,3] float, faces [F,3] int (counter-clockwise seen from outside), colours [V,3] float in
    [0,1] or None. The format follows the suffix (.ply or .obj). Returns the path."""
    path = Path(path)
    v = np.asarray(vertices, np.float32).reshape(-1, 3)
    f = np.asarray(faces, np.int64).reshape(-1, 3)
    c = None if colours is None else np.clip(np.asarray(colours, np.float32).reshape(-1, 3), 0, 1)
    if c is not None and len(c) != len(v):
        raise BadInputError(f"{len(c)} colours for {len(v)} vertices")
    if len(f) and (f.min() < 0 or f.max() >= len(v)):
        raise BadInputError("face indices out of range")
    suffix = path.suffix.lower()
    if suffix == ".ply":
        data = _ply(v, f, c)
    elif suffix == ".obj":
        data = _obj(v, f, c)
    elif suffix == ".glb":
        data = _glb(v, f, c)
    else:
        raise BadInputError(f"cannot write {path.name}: use one of {', '.join(FORMATS)}")
    atomic_write_bytes(path, data)
    return path


def _ply(v, f, c) -> bytes:
    head = ["ply", "format binary_little_endian 1.0", "comment BodyRig PIFu mesh", f"element vertex {len(v)}",
            "property float x", "property float y", "property float z"]
    fields = [("xyz", "<f4", (3,))]
    if c is not None:
        head += ["property uchar red", "property uchar green", "property uchar blue"]
        fields.append(("rgb", "u1", (3,)))
    head += [f"element face {len(f)}", "property list uchar int vertex_indices", "end_header"]
    verts = np.empty(len(v), dtype=fields)
    verts["xyz"] = v
    if c is not None:
        verts["rgb"] = np.round(c * 255).astype(np.uint8)
    tris = np.empty(len(f), dtype=[("n", "u1"), ("idx", "<i4", (3,))])
    tris["n"] = 3
    tris["idx"] = f
    return ("\n".join(head) + "\n").encode("ascii") + verts.tobytes() + tris.tobytes()


def _obj(v, f, c) -> bytes:
    cols = v if c is None else np.concatenate([v, c], 1)
    fmt = "v" + " %.6f" * cols.shape[1]
    lines = ["# BodyRig PIFu mesh" + ("" if c is None else " (vertex colours: v x y z r g b, in [0,1])")]
    lines += [fmt % tuple(row) for row in cols]
    lines += ["f %d %d %d" % tuple(t) for t in (f + 1)]
    return ("\n".join(lines) + "\n").encode("ascii")


def _glb(v, f, c) -> bytes:
    import json
    import struct

    def pad(b: bytes, fill: bytes) -> bytes:
        return b + fill * (-len(b) % 4)

    blobs = [v.astype("<f4").tobytes(), f.astype("<u4").tobytes()]
    if c is not None:
        blobs.append(c.astype("<f4").tobytes())
    views, offset = [], 0
    for i, b in enumerate(blobs):
        views.append({"buffer": 0, "byteOffset": offset, "byteLength": len(b),
                      "target": 34963 if i == 1 else 34962})
        offset += len(pad(b, b"\0"))
    accessors = [
        {"bufferView": 0, "componentType": 5126, "count": len(v), "type": "VEC3",
         "min": v.min(0).tolist() if len(v) else [0, 0, 0], "max": v.max(0).tolist() if len(v) else [0, 0, 0]},
        {"bufferView": 1, "componentType": 5125, "count": int(f.size), "type": "SCALAR"},
    ]
    attributes = {"POSITION": 0}
    if c is not None:
        accessors.append({"bufferView": 2, "componentType": 5126, "count": len(c), "type": "VEC3"})
        attributes["COLOR_0"] = 2
    doc = {
        "asset": {"version": "2.0", "generator": "BodyRig PIFu"},
        "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0, "name": "pifu"}],
        "meshes": [{"name": "pifu", "primitives": [{"attributes": attributes, "indices": 1, "mode": 4}]}],
        "buffers": [{"byteLength": offset}], "bufferViews": views, "accessors": accessors,
    }
    js = pad(json.dumps(doc, separators=(",", ":")).encode(), b" ")
    binary = b"".join(pad(b, b"\0") for b in blobs)
    chunks = struct.pack("<II", len(js), 0x4E4F534A) + js + struct.pack("<II", len(binary), 0x004E4942) + binary
    return struct.pack("<III", 0x46546C67, 2, 12 + len(chunks)) + chunks
