"""Headless batch: photos (and videos) → rigged characters and motion files, one summary.json.

    python scripts/batch.py INPUT... --out DIR [options]              (plain Python with the bpy module)
    blender -b -P scripts/batch.py -- INPUT... --out DIR [options]    (inside Blender; arguments after --)

INPUT: files, folders (their files, sorted) and globs. Photos and videos are told apart by their first bytes.
Every input is independent: a failure is recorded and the others go on. Every output is written under a
temporary name and renamed; DIR/summary.json is rewritten atomically after each input, so an interrupted run
keeps what it did. A rerun skips inputs whose outputs all exist, unless --overwrite.
Exit codes: 0 all succeeded (or were skipped), 1 some failed, 2 usage error, 130 interrupted (143: SIGTERM, Ray).
--engine ray [--address ADDR]: one Ray task per input instead of local processes (scripts/batch_ray.py).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
import repo_package  # noqa: E402  (the repository as the package `bodyrig`)

repo_package.install()


def _add_extension_site_packages() -> None:
    """Inside Blender: the packages the installed BodyRig extension's Install Dependencies button put in its
    private folder (extensions/.user/<repository>/bodyrig/site-packages), so `blender -b -P batch.py` finds them."""
    if "bpy" not in sys.modules or not sys.modules["bpy"].app.binary_path:
        return
    import bpy

    for repo in bpy.context.preferences.extensions.repos:
        try:
            path = bpy.utils.extension_path_user(f"bl_ext.{repo.module}.bodyrig", path="site-packages",
                                                 create=False)
        except ValueError:  # a repository Blender cannot resolve a user folder for
            continue
        if os.path.isdir(path) and path not in sys.path:
            sys.path.append(path)


_add_extension_site_packages()

FORMATS = ("blend", "fbx", "glb", "bvh", "npz", "json")
PHOTO, VIDEO, UNKNOWN = "photo", "video", "unknown"
RECORD_PREFIX = "@@bodyrig-batch@@ "  # a worker's result line on its stdout


# ----------------------------------------------------------------------------------------------- inputs
def sniff_kind(path: Path) -> str:
    """'photo' | 'video' | 'unknown' from the file's first bytes (the extension is not trusted)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(32)
    except OSError:
        return UNKNOWN
    if head[:3] == b"\xff\xd8\xff" or head[:8] == b"\x89PNG\r\n\x1a\n" or head[:2] == b"BM":
        return PHOTO
    if head[:4] in (b"II*\x00", b"MM\x00*") or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return PHOTO
    if head[4:8] == b"ftyp" or (head[:4] == b"RIFF" and head[8:12] == b"AVI ") or head[:4] == b"\x1aE\xdf\xa3":
        return VIDEO
    if head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):  # MPEG program stream
        return VIDEO
    if head[:1] == b"\x47" and _looks_like_mpeg_ts(path):
        return VIDEO
    return UNKNOWN


def _looks_like_mpeg_ts(path: Path) -> bool:
    with open(path, "rb") as fh:
        data = fh.read(188 * 3)
    return len(data) == 188 * 3 and all(data[i * 188] == 0x47 for i in range(3))


def expand_inputs(items) -> list[Path]:
    """Files, folders (non-hidden files inside, sorted) and globs → unique existing files, in order."""
    out, seen = [], set()
    for item in items:
        matches = sorted(glob.glob(item)) if glob.has_magic(item) else [item]
        if not matches:
            raise SystemExit(_usage_error(f"no file matches {item!r}"))
        for m in matches:
            p = Path(m)
            if p.is_dir():
                files = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
            elif p.is_file():
                files = [p]
            else:
                raise SystemExit(_usage_error(f"input not found: {item}"))
            for f in files:
                key = f.resolve()
                if key not in seen:
                    seen.add(key)
                    out.append(f)
    return out


def output_stems(inputs: list[Path]) -> dict:
    """A unique output stem per input: its file stem, plus its parent folder's name where stems collide."""
    counts = {}
    for p in inputs:
        counts[p.stem] = counts.get(p.stem, 0) + 1
    stems, used = {}, set()
    for p in inputs:
        stem = p.stem if counts[p.stem] == 1 else f"{p.parent.name}_{p.stem}"
        base, k = stem, 2
        while stem in used:
            stem, k = f"{base}_{k}", k + 1
        used.add(stem)
        stems[str(p)] = stem
    return stems


def planned_outputs(out_dir: Path, stem: str, formats, pifu: bool) -> list[Path]:
    paths = [out_dir / f"{stem}.{fmt}" for fmt in formats]
    if pifu:
        paths.append(out_dir / f"{stem}_clothed.ply")
    return paths


# ----------------------------------------------------------------------------------------------- work
class Stopwatch:
    def __init__(self):
        self.seconds = {}

    def __call__(self, stage):
        watch = self

        class _Stage:
            def __enter__(self):
                self.t0 = time.perf_counter()

            def __exit__(self, *exc):
                watch.seconds[stage] = watch.seconds.get(stage, 0.0) + time.perf_counter() - self.t0

        return _Stage()


def _fresh_scene():
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)


def _write_character_outputs(character, targets: dict, watch):
    from bodyrig.operators.photo_scene import save_blend

    for fmt, path in targets.items():
        with watch(f"write_{fmt}"):
            if fmt == "blend":
                save_blend(path)
            else:
                from bodyrig.operators.export import export_character

                export_character(character, path, fmt=fmt)


def process_photo(path: Path, targets: dict, opts, watch) -> None:
    from inference.pipeline import clothed_mesh, fit_photo
    from inference.results import MotionFit

    settings = opts["settings"]
    with watch("fit"):
        photo = fit_photo(path, settings)
    fit = photo.fit
    for stage, s in fit.timings.items():
        watch.seconds[f"fit.{stage}"] = s
    if "json" in targets:
        with watch("write_json"):
            fit.save_json(targets["json"])
    if "npz" in targets:
        from inference.motion_io import save_motion

        pose, transl = fit.world()
        with watch("write_npz"):
            save_motion(MotionFit(pose=pose[None], transl=transl[None], betas=fit.betas, fps=1.0,
                                  body_model=fit.body_model, metadata={"source": str(path)}), targets["npz"])
    scene_targets = {f: p for f, p in targets.items() if f in ("blend", "fbx", "glb", "bvh")}
    if scene_targets:
        from bodyrig.operators.photo_scene import character_from_fit

        with watch("rig"):
            _fresh_scene()
            character = character_from_fit(fit, photo.body, name=path.stem)
        _write_character_outputs(character, scene_targets, watch)
    if opts["pifu"]:
        from inference.pifu.meshio import write_mesh

        with watch("pifu"):
            mesh = clothed_mesh(str(path), settings, with_fit=False).mesh
            write_mesh(targets["pifu"], mesh.vertices, mesh.faces, mesh.colours)


def process_video(path: Path, targets: dict, opts, watch) -> None:
    from inference.pipeline import video_motion

    with watch("fit"):
        result = video_motion(path, opts["settings"])
    motion = result.motion
    if "npz" in targets:
        from inference.motion_io import save_motion

        with watch("write_npz"):
            save_motion(motion, targets["npz"])
    scene_targets = {f: p for f, p in targets.items() if f in ("blend", "fbx", "glb", "bvh")}
    if scene_targets:
        from bodyrig.operators.photo_scene import character_from_motion

        with watch("rig"):
            _fresh_scene()
            character = character_from_motion(motion, result.body, name=path.stem)
        _write_character_outputs(character, scene_targets, watch)


def process_one(path: Path, stem: str, opts) -> dict:
    """Run one input; never raises for the input's own failures (they are recorded)."""
    from inference.errors import BodyRigError

    out_dir = Path(opts["out"])
    outputs = planned_outputs(out_dir, stem, opts["formats"], opts["pifu"])
    record = {"input": str(path), "status": "ok", "outputs": [str(p) for p in outputs], "seconds": {},
              "error": None}
    if not opts["overwrite"] and all(p.exists() for p in outputs):
        record["status"] = "skipped"
        return record
    watch = Stopwatch()
    t0 = time.perf_counter()
    targets = dict(zip(opts["formats"], outputs))
    if opts["pifu"]:
        targets["pifu"] = outputs[-1]
    try:
        kind = sniff_kind(path)
        if kind == PHOTO:
            process_photo(path, targets, opts, watch)
        elif kind == VIDEO:
            process_video(path, targets, opts, watch)
        else:
            raise BodyRigError(f"{path.name} is neither a photo nor a video that BodyRig can read")
    except BodyRigError as exc:
        record.update(status="failed", error=str(exc))
    except Exception as exc:  # a bug, but one input must not stop the batch: record it in full
        if os.environ.get("BODYRIG_DEBUG") == "1":
            raise
        record.update(status="failed", error=f"internal error: {type(exc).__name__}: {exc}",
                      traceback=traceback.format_exc())
    if record["status"] == "failed":
        record["outputs"] = [str(p) for p in outputs if p.exists()]
    watch.seconds["total"] = time.perf_counter() - t0
    record["seconds"] = {k: round(v, 4) for k, v in watch.seconds.items()}
    return record


# ----------------------------------------------------------------------------------------------- report
def write_summary(out_dir: Path, records: list, started: float, interrupted: bool, workers: int) -> Path:
    from inference.fileio import atomic_write_text

    totals = {s: sum(r["status"] == s for r in records) for s in ("ok", "failed", "skipped")}
    totals.update(inputs=len(records), seconds=round(time.perf_counter() - started, 3), interrupted=interrupted,
                  workers=workers)
    path = out_dir / "summary.json"
    atomic_write_text(path, json.dumps({"inputs": records, "totals": totals}, indent=1))
    return path


# ----------------------------------------------------------------------------------------------- running
def _script_argv() -> list[str]:
    """The script's own arguments, whether run by Python or by `blender -b -P batch.py -- ...`."""
    if "--" in sys.argv:
        return sys.argv[sys.argv.index("--") + 1:]
    return sys.argv[1:]


def _in_blender_binary() -> bool:
    """True inside `blender -b -P` (Blender imports bpy before the script runs; the bpy module has no binary)."""
    return "bpy" in sys.modules and bool(sys.modules["bpy"].app.binary_path)


def _worker_command(shard_file: Path, base_args: list[str]) -> list[str]:
    """A child process running this script on one shard, in the same kind of host (python or blender)."""
    if _in_blender_binary():
        import bpy

        return [bpy.app.binary_path, "-b", "--factory-startup", "-P", __file__, "--", *base_args,
                "--worker-shard", str(shard_file)]
    return [sys.executable, __file__, *base_args, "--worker-shard", str(shard_file)]


def run_workers(jobs, args, base_args, on_record) -> bool:
    """Split the jobs into `args.workers` child processes; records stream back on their stdout."""
    import tempfile

    shards = [jobs[i::args.workers] for i in range(args.workers)]
    procs, readers, pending = [], [], {str(p) for p, _ in jobs}
    lock = threading.Lock()
    tmp = Path(tempfile.mkdtemp(prefix="bodyrig-batch-"))

    def read(proc):
        for line in proc.stdout:
            if line.startswith(RECORD_PREFIX):
                rec = json.loads(line[len(RECORD_PREFIX):])
                with lock:
                    pending.discard(rec["input"])
                    on_record(rec)

    for i, shard in enumerate(s for s in shards if s):
        shard_file = tmp / f"shard{i}.json"
        shard_file.write_text(json.dumps([[str(p), stem] for p, stem in shard]))
        proc = subprocess.Popen(_worker_command(shard_file, base_args), stdout=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)
        procs.append(proc)
        readers.append(threading.Thread(target=read, args=(proc,), daemon=True))
        readers[-1].start()
    try:
        for proc, reader in zip(procs, readers):
            proc.wait()
            reader.join()
    except KeyboardInterrupt:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait()
        return True
    for p in sorted(pending):  # a worker that died took these with it
        on_record({"input": p, "status": "failed", "outputs": [], "seconds": {},
                   "error": "the worker process processing this input stopped unexpectedly"})
    return False


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="batch.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="*", metavar="INPUT", help="photo/video files, folders or globs")
    parser.add_argument("--out", type=Path, help="output folder (created)")
    parser.add_argument("--format", default="blend,npz",
                        help=f"comma-separated outputs, any of {','.join(FORMATS)} (default blend,npz)")
    parser.add_argument("--body", default="open", help="open (default) or the path of an SMPL .pkl/.npz file")
    parser.add_argument("--checkpoint", help="an HMR (SPIN) checkpoint; without it, fitting alone")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes (default 1); with --engine ray, tasks in flight")
    parser.add_argument("--engine", default="local", choices=("local", "ray"),
                        help="local processes (default) or one Ray task per input (scripts/batch_ray.py)")
    parser.add_argument("--address", help="with --engine ray: a running Ray cluster (default: start a local one)")
    parser.add_argument("--overwrite", action="store_true", help="redo inputs whose outputs exist")
    parser.add_argument("--pifu", action="store_true", help="also reconstruct a clothed mesh (needs --net-g/--net-c)")
    parser.add_argument("--net-g", help="PIFu's net_G checkpoint (with --pifu)")
    parser.add_argument("--net-c", help="PIFu's net_C checkpoint (with --pifu)")
    parser.add_argument("--worker-shard", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker_shard is None and not args.inputs:
        parser.error("give at least one INPUT")
    if args.out is None:
        parser.error("--out DIR is required")
    formats = [f.strip().lower() for f in args.format.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        parser.error(f"unknown --format {','.join(bad) or '(empty)'}; choose from {','.join(FORMATS)}")
    args.formats = list(dict.fromkeys(formats))
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.address and args.engine != "ray":
        parser.error("--address needs --engine ray")
    if args.pifu and not (args.net_g and args.net_c):
        parser.error("--pifu needs --net-g NET_G and --net-c NET_C (PIFu's released checkpoints)")
    return args


def _usage_error(message: str) -> int:
    print(f"batch.py: error: {message}", file=sys.stderr)
    return 2


def main(argv=None) -> int:
    try:
        args = parse_args(_script_argv() if argv is None else argv)
    except SystemExit as exc:  # argparse's usage errors exit 2 already; keep that code
        return int(exc.code or 0)
    from inference.pipeline import Settings

    settings = Settings(body=None if args.body == "open" else args.body, checkpoint=args.checkpoint,
                        device=args.device, pifu_net_g=args.net_g, pifu_net_c=args.net_c)
    opts = {"out": str(args.out), "formats": args.formats, "settings": settings, "overwrite": args.overwrite,
            "pifu": args.pifu}

    if args.worker_shard:  # a child: process the shard, print one record line per input
        for path, stem in json.loads(Path(args.worker_shard).read_text()):
            rec = process_one(Path(path), stem, opts)
            print(RECORD_PREFIX + json.dumps(rec), flush=True)
        return 0

    try:
        inputs = expand_inputs(args.inputs)
    except SystemExit as exc:
        return int(exc.code)
    args.out.mkdir(parents=True, exist_ok=True)
    stems = output_stems(inputs)
    jobs = [(p, stems[str(p)]) for p in inputs]
    started = time.perf_counter()
    records, order = [], {str(p): i for i, (p, _) in enumerate(jobs)}
    from tqdm import tqdm

    bar = tqdm(total=len(jobs), unit="file", file=sys.stderr, disable=None)

    def on_record(rec):
        records.append(rec)
        records.sort(key=lambda r: order.get(r["input"], 0))
        write_summary(args.out, records, started, interrupted=False, workers=args.workers)
        bar.set_postfix_str(f"{Path(rec['input']).name}: {rec['status']}")
        bar.update(1)

    interrupted, signum = False, None
    try:
        if args.engine == "ray":
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from batch_ray import run_ray

            signum = run_ray(jobs, args, opts, on_record)  # the signal that stopped it, or None
            interrupted = signum is not None
        elif args.workers == 1:
            for path, stem in jobs:
                on_record(process_one(path, stem, opts))
        else:
            interrupted = run_workers(jobs, args, _child_args(args), on_record)
    except KeyboardInterrupt:
        interrupted = True
    bar.close()
    summary = write_summary(args.out, records, started, interrupted=interrupted, workers=args.workers)
    failed = sum(r["status"] == "failed" for r in records)
    print(f"{len(records)} of {len(jobs)} inputs done: {len(records) - failed} ok or skipped, {failed} failed; "
          f"summary: {summary}", file=sys.stderr)
    if interrupted:
        return 128 + (signum or 2)  # 130 Ctrl-C, 143 SIGTERM
    return 1 if failed else 0


def _child_args(args) -> list[str]:
    """The options a worker process needs (its inputs come from its shard file)."""
    out = ["--out", str(args.out), "--format", ",".join(args.formats), "--body", args.body, "--device",
           args.device]
    if args.checkpoint:
        out += ["--checkpoint", args.checkpoint]
    if args.overwrite:
        out.append("--overwrite")
    if args.pifu:
        out += ["--pifu", "--net-g", args.net_g, "--net-c", args.net_c]
    return out


if __name__ == "__main__":
    sys.exit(main())  # also inside `blender -b -P`: Blender exits with this code
