"""Exports round-trip: FBX, glTF binary and BVH written by export_character and read back by Blender's own
importers into a fresh scene must put every joint where the source rig had it, frame by frame (within 1 mm);
the .glb passes the Khronos glTF validator."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from inference.body.skeleton import SMPL_JOINT_NAMES  # noqa: E402
from inference.errors import BadInputError, BodyRigError  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
T, FPS, TOL = 10, 30, 1e-3  # frames, frame rate, metres


def _animated_character(tiny_data, fps=FPS):
    """Tiny character (shaped) with T frames of moderate random poses, turning root and travelling root."""
    from bodyrig.operators.animate import animate
    from bodyrig.operators.rig import build_character

    ch = build_character(tiny_data, betas=np.linspace(-1.0, 1.0, 10))
    rng = np.random.default_rng(7)
    pose = rng.normal(0.0, 0.3, (T, 24, 3))
    pose[:, 0] = rng.normal(0.0, 0.6, (T, 3))
    transl = np.cumsum(rng.normal(0.0, 0.1, (T, 3)), axis=0) + [0.3, 0.0, -0.2]
    animate(ch, pose, transl, fps=fps)
    return ch


def _joint_world(arm, frames) -> np.ndarray:
    """[F,24,3] world positions of the bones' heads (the SMPL joints), looked up by bone name; frames may be
    fractional (subframes)."""
    scene = bpy.context.scene
    out = np.empty((len(frames), 24, 3))
    for i, f in enumerate(frames):
        scene.frame_set(int(f), subframe=float(f) - int(f))
        mw = np.array(arm.matrix_world)
        heads = np.array([arm.pose.bones[n].head for n in SMPL_JOINT_NAMES])
        out[i] = heads @ mw[:3, :3].T + mw[:3, 3]
    return out


def _mesh_world(obj) -> np.ndarray:
    """[V,3] world positions of the deformed (evaluated) mesh."""
    ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    me = ev.to_mesh()
    co = np.empty(3 * len(me.vertices), dtype=np.float32)
    me.vertices.foreach_get("co", co)
    ev.to_mesh_clear()
    mw = np.array(obj.matrix_world)
    return co.reshape(-1, 3).astype(np.float64) @ mw[:3, :3].T + mw[:3, 3]


def _export_source(tiny_data, path, fps=FPS):
    """Build, export, and record the source joints (and meshes at the first and last frames)."""
    from bodyrig.operators.export import export_character

    ch = _animated_character(tiny_data, fps)
    joints = _joint_world(ch.armature, range(1, T + 1))
    meshes = {}
    for f in (1, T):
        bpy.context.scene.frame_set(f)
        meshes[f] = _mesh_world(ch.mesh)
    assert export_character(ch, path) == path and path.stat().st_size > 0
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left beside it
    return joints, meshes


def _fresh_scene(fps=30, fps_base=1.0):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    # glTF/FBX importers turn seconds into frames at the scene's rate
    bpy.context.scene.render.fps, bpy.context.scene.render.fps_base = fps, fps_base


def _imported_armature():
    arms = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    assert len(arms) == 1
    assert {b.name for b in arms[0].data.bones} == set(SMPL_JOINT_NAMES)  # 24 bones, no leaf/end bones
    return arms[0]


def _assert_meshes_match(src_meshes, arm):
    """Every imported vertex lies on a source vertex and vice versa (importers may split or reorder vertices)."""
    from scipy.spatial import cKDTree

    mesh = next(o for o in bpy.data.objects if o.type == "MESH" and o.find_armature() == arm)
    for f, src in src_meshes.items():
        bpy.context.scene.frame_set(f)
        got = _mesh_world(mesh)
        assert cKDTree(src).query(got)[0].max() < TOL
        assert cKDTree(got).query(src)[0].max() < TOL


def test_fbx_round_trip_joints_and_skin(tmp_path, tiny_data):
    src, meshes = _export_source(tiny_data, tmp_path / "walk.fbx")
    _fresh_scene()
    # Blender's FBX importer shifts animation by +1 frame by default (anim_offset); the file's key times are
    # frame / fps, so 0 puts frame f back on frame f.
    bpy.ops.import_scene.fbx(filepath=str(tmp_path / "walk.fbx"), anim_offset=0.0)
    arm = _imported_armature()
    assert np.allclose(arm.scale, 1.0)  # the unit scale did not turn into an object scale
    got = _joint_world(arm, range(1, T + 1))
    assert np.abs(got - src).max() < TOL
    assert np.ptp(src[:, 0], axis=0).max() > 0.1  # the root really travelled (translation was exported)
    _assert_meshes_match(meshes, arm)


def test_fbx_is_y_up_in_metres_with_an_unrotated_unscaled_armature(tmp_path, tiny_data):
    """What other tools see (read with Blender's own FBX parser): Y up, 1 unit = 100 cm (metres), the
    armature root with no rotation and scale 1 (no 90-degree or 100x fix-up needed), no leaf bones."""
    from io_scene_fbx import parse_fbx

    _export_source(tiny_data, tmp_path / "walk.fbx")
    root, _ = parse_fbx.parse(str(tmp_path / "walk.fbx"))

    def child(elem, name):
        return [e for e in elem.elems if e.id == name]

    def props(elem):
        return {p.props[0].decode(): p.props[4:] for p in child(elem, b"Properties70")[0].elems}

    header = props(child(root, b"GlobalSettings")[0])
    assert header["UpAxis"] == [1] and header["UpAxisSign"] == [1] and header["UnitScaleFactor"] == [100.0]
    assert header["CustomFrameRate"] == [float(FPS)]
    models = {m.props[1].split(b"\x00")[0].decode(): props(m) for m in child(child(root, b"Objects")[0], b"Model")}
    assert np.allclose(models["BodyRig"].get("Lcl Rotation", [0, 0, 0]), 0.0, atol=1e-3)  # degrees
    assert np.allclose(models["BodyRig"].get("Lcl Scaling", [1, 1, 1]), 1.0)
    assert "end" not in " ".join(models)  # no leaf bones


def _glb_json(path) -> dict:
    data = path.read_bytes()
    magic, _, _ = struct.unpack_from("<4sII", data, 0)
    length, kind = struct.unpack_from("<I4s", data, 12)
    assert magic == b"glTF" and kind == b"JSON"
    return json.loads(data[20:20 + length])


def _gltf_rest_positions(gltf) -> dict:
    """World positions of the named nodes from their rest TRS chain (glTF quaternions are x, y, z, w)."""
    from inference.rotations import quaternion_to_matrix

    nodes = gltf["nodes"]
    parent = {c: i for i, n in enumerate(nodes) for c in n.get("children", [])}

    def world(i):
        n = nodes[i]
        m = np.eye(4)
        x, y, z, w = n.get("rotation", [0.0, 0.0, 0.0, 1.0])
        m[:3, :3] = quaternion_to_matrix(np.array([w, x, y, z])) * np.asarray(n.get("scale", [1.0] * 3))
        m[:3, 3] = n.get("translation", [0.0] * 3)
        return m if i not in parent else world(parent[i]) @ m

    return {n.get("name"): world(i)[:3, 3] for i, n in enumerate(nodes)}


def test_glb_round_trip_joints_skin_and_upright(tmp_path, tiny_data):
    src, meshes = _export_source(tiny_data, tmp_path / "walk.glb")
    gltf = _glb_json(tmp_path / "walk.glb")
    assert len(gltf["skins"]) == 1 and len(gltf["skins"][0]["joints"]) == 24
    assert len(gltf["animations"]) == 1
    times = gltf["accessors"][gltf["animations"][0]["samplers"][0]["input"]]
    assert times["count"] == T  # every frame sampled
    # Upright in Y-up glTF: at rest, the head is above the pelvis and the pelvis above the ankles along +Y.
    rest = _gltf_rest_positions(gltf)
    assert rest["head"][1] - rest["pelvis"][1] > 0.5 and rest["pelvis"][1] - rest["left_ankle"][1] > 0.7
    assert abs(rest["head"][0] - rest["pelvis"][0]) < 0.05 and abs(rest["head"][2] - rest["pelvis"][2]) < 0.1

    _fresh_scene()
    bpy.ops.import_scene.gltf(filepath=str(tmp_path / "walk.glb"))
    arm = _imported_armature()
    got = _joint_world(arm, range(1, T + 1))
    assert np.abs(got - src).max() < TOL
    _assert_meshes_match(meshes, arm)


def test_bvh_round_trip_joints(tmp_path, tiny_data):
    """Same 1 mm check: BVH keeps offsets and root motion to 1 µm and angles to 1e-6 degrees (measured error
    ~2e-5 m, from float32 Euler conversions); it has no mesh, so only the skeleton is compared."""
    src, _ = _export_source(tiny_data, tmp_path / "walk.bvh")
    text = (tmp_path / "walk.bvh").read_text()
    assert f"Frames: {T}" in text and "Frame Time: 0.033333" in text
    _fresh_scene()
    bpy.ops.import_anim.bvh(filepath=str(tmp_path / "walk.bvh"), axis_forward="-Z", axis_up="Y", frame_start=1)
    arm = _imported_armature()
    got = _joint_world(arm, range(1, T + 1))
    assert np.abs(got - src).max() < TOL


def _validator():
    node = shutil.which("node")
    package = REPO / ".venv" / "node" / "node_modules" / "gltf-validator" / "package.json"
    if node is None or not package.is_file():
        pytest.skip("node or gltf-validator missing: run scripts/setup.sh (it installs the validator)")
    return node


def test_glb_passes_khronos_validator(tmp_path, tiny_data):
    node = _validator()
    _export_source(tiny_data, tmp_path / "walk.glb")
    run = subprocess.run([node, str(REPO / "tests" / "tools" / "gltf_validate.mjs"), str(tmp_path / "walk.glb")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode in (0, 1), run.stderr
    report = json.loads(run.stdout)
    errors = [m for m in report["issues"]["messages"] if m["severity"] == 0]
    assert report["issues"]["numErrors"] == 0, errors
    assert report["info"]["animationCount"] == 1 and report["info"]["hasSkins"]


def test_validator_wrapper_catches_a_broken_glb(tmp_path, tiny_data):
    """The validator check can fail: a .glb whose JSON points past its buffer is reported with errors."""
    node = _validator()
    _export_source(tiny_data, tmp_path / "ok.glb")
    gltf = _glb_json(tmp_path / "ok.glb")
    gltf["accessors"][0]["count"] *= 1000
    body = json.dumps(gltf).encode()
    body += b" " * (-len(body) % 4)
    data = (tmp_path / "ok.glb").read_bytes()
    old = struct.unpack_from("<I", data, 12)[0]
    rest = data[20 + old:]
    glb = struct.pack("<4sII", b"glTF", 2, 12 + 8 + len(body) + len(rest)) + struct.pack("<I4s", len(body), b"JSON")
    (tmp_path / "bad.glb").write_bytes(glb + body + rest)
    run = subprocess.run([node, str(REPO / "tests" / "tools" / "gltf_validate.mjs"), str(tmp_path / "bad.glb")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and json.loads(run.stdout)["issues"]["numErrors"] > 0


def test_failed_export_leaves_no_file_and_raises(tmp_path, tiny_data, monkeypatch):
    from bodyrig.operators import export
    from bodyrig.operators.rig import build_character

    ch = build_character(tiny_data)

    def half_written(filepath, frames):
        Path(filepath).write_bytes(b"Kaydara FBX Binary  \x00partial")
        raise RuntimeError("Error: simulated exporter crash")

    monkeypatch.setitem(export._EXPORTERS, "fbx", half_written)
    with pytest.raises(BodyRigError, match="FBX exporter failed"):
        export.export_character(ch, tmp_path / "a.fbx")
    monkeypatch.setitem(export._EXPORTERS, "fbx", lambda filepath, frames: {"FINISHED"})  # writes nothing
    with pytest.raises(BodyRigError, match="wrote nothing"):
        export.export_character(ch, tmp_path / "a.fbx")
    assert list(tmp_path.iterdir()) == []


def test_bad_format_and_non_character_raise_bad_input(tmp_path, tiny_data):
    from bodyrig.operators.export import export_character
    from bodyrig.operators.rig import build_character

    ch = build_character(tiny_data)
    with pytest.raises(BadInputError, match=r"\.fbx, \.glb or \.bvh"):
        export_character(ch, tmp_path / "a.obj")
    empty = bpy.data.objects.new("Empty", None)
    bpy.context.scene.collection.objects.link(empty)
    with pytest.raises(BadInputError):
        export_character(empty, tmp_path / "a.fbx")
    # An explicit format wins over the extension; selection and active object are restored afterwards.
    bpy.context.view_layer.objects.active = empty
    empty.select_set(True)
    export_character(ch.armature, tmp_path / "pose.bin", fmt="bvh")
    assert (tmp_path / "pose.bin").read_text().startswith("HIERARCHY")
    assert bpy.context.view_layer.objects.active == empty and empty.select_get()
    assert not ch.armature.select_get()


_IMPORTERS = {
    ".fbx": lambda p: bpy.ops.import_scene.fbx(filepath=p, anim_offset=0.0),
    ".glb": lambda p: bpy.ops.import_scene.gltf(filepath=p),
    ".bvh": lambda p: bpy.ops.import_anim.bvh(filepath=p, frame_start=1),
}


@pytest.mark.parametrize("ext", sorted(_IMPORTERS))
def test_ntsc_rate_keeps_time(tmp_path, tiny_data, ext):
    """29.97 fps: every frame's time is kept (no rounding to 30). Blender's FBX importer turns seconds into
    frames with render.fps alone (it ignores fps_base), so its frame f lands on f * 1.001; the file's time
    f / 29.97 s is what is checked there. glTF and BVH import onto whole frames."""
    src, _ = _export_source(tiny_data, tmp_path / f"walk{ext}", fps=29.97)
    if ext == ".bvh":
        assert "Frame Time: 0.033367" in (tmp_path / "walk.bvh").read_text()
    _fresh_scene(30, 1.001)
    _IMPORTERS[ext](str(tmp_path / f"walk{ext}"))
    arm = _imported_armature()
    got = _joint_world(arm, np.arange(1, T + 1) * (1.001 if ext == ".fbx" else 1.0))
    assert np.abs(got - src).max() < TOL


def test_missing_exporter_addon_raises(tmp_path, tiny_data, monkeypatch):
    import addon_utils

    from bodyrig.operators.export import export_character
    from bodyrig.operators.rig import build_character

    ch = build_character(tiny_data)
    monkeypatch.setattr(addon_utils, "check", lambda module: (False, False))
    monkeypatch.setattr(addon_utils, "enable", lambda module, **kw: None)
    with pytest.raises(BodyRigError, match="io_scene_gltf2.*missing"):
        export_character(ch, tmp_path / "a.glb")
    assert list(tmp_path.iterdir()) == []
