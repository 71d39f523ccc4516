"""Headless batch: photos (and videos) → rigged characters and motion files, one summary.json.

    python scripts/batch.py INPUT... --out DIR [options]              (plain Python with the bpy module)
    blender -b -P scripts/batch.py -- INPUT... --out DIR [options]    (inside Blender; arguments after --)

INPUT: files, folders (their files, sorted) and globs; after `--` a name may start with '-'. Photos and videos
are told apart by their first bytes. Outputs already in DIR (a folder that is also an input) are not inputs.
Every input is independent: a failure (a full disk or read-only folder too) is recorded and the others go on.
Every output is written under a temporary name, verified complete on disk and only then renamed;
DIR/summary.json is rewritten atomically after each input, so an interrupted run keeps what it did. A rerun
skips inputs whose outputs all exist and are verified complete, unless --overwrite; it redoes the others and
removes temporaries a killed run left in DIR. Only one batch may write into DIR at a time.
Exit codes: 0 all succeeded (or were skipped), 1 some failed, 2 usage error, 3 DIR/summary.json could not be
written (e.g. disk full: free space and rerun), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM); on 130/143
workers are stopped and the summary says "interrupted".
--engine ray [--address ADDR]: one Ray task per input instead of local processes (scripts/batch_ray.py).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import signal
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
SUMMARY_NAME = "summary.json"
# what this script writes: files with these suffixes inside --out are never taken as inputs
OUTPUT_SUFFIXES = {f".{fmt}" for fmt in FORMATS} | {".ply", ".blend1"}
EXIT_SUMMARY_UNWRITABLE = 3
WORKER_STOP_SECONDS = 10.0  # a worker asked to stop gets this long before it is killed


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
    if head[:6] in (b"GIF87a", b"GIF89a"):  # Pillow reads GIF (the first frame), as `fit` does
        return PHOTO
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:  # AVIF/HEIC: images in an MP4-like box
        return PHOTO if _ftyp_brands(head) & _AVIF_BRANDS and pillow_reads_avif() else UNKNOWN
    if head[4:8] == b"ftyp" or (head[:4] == b"RIFF" and head[8:12] == b"AVI ") or head[:4] == b"\x1aE\xdf\xa3":
        return VIDEO
    if head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):  # MPEG program stream
        return VIDEO
    if head[:1] == b"\x47" and _looks_like_mpeg_ts(path):
        return VIDEO
    return UNKNOWN


_AVIF_BRANDS = {b"avif", b"avis"}
_HEIF_BRANDS = _AVIF_BRANDS | {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}


def _ftyp_brands(head: bytes) -> set:
    """The major and compatible brands of an ISO-BMFF `ftyp` box in the file's first bytes."""
    size = int.from_bytes(head[:4], "big")
    brands = {head[8:12]}
    brands.update(head[i:i + 4] for i in range(16, min(size, len(head)) - 3, 4))
    return brands


def pillow_reads_avif() -> bool:
    """Whether this Python's Pillow decodes AVIF (Pillow 11.2+ wheels do), which `fit` uses to read photos."""
    try:
        from PIL import features

        return bool(features.check("avif"))
    except (ImportError, ValueError):
        return False


def unknown_reason(path: Path) -> str:
    """One line saying why `path` is neither a photo nor a video that BodyRig can read."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(32)
    except OSError as exc:
        return f"{path.name} cannot be read: {exc.strerror or exc}"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        kind = "an AVIF" if _ftyp_brands(head) & _AVIF_BRANDS else "a HEIC/HEIF"
        return (f"{path.name} is {kind} image, which this Python's Pillow cannot decode; convert it to JPEG or "
                f"PNG")
    return f"{path.name} is neither a photo nor a video that BodyRig can read"


def _looks_like_mpeg_ts(path: Path) -> bool:
    with open(path, "rb") as fh:
        data = fh.read(188 * 3)
    return len(data) == 188 * 3 and all(data[i * 188] == 0x47 for i in range(3))


def expand_inputs(items, out_dir: Path | None = None) -> list[Path]:
    """Files, folders (non-hidden files inside, sorted) and globs → unique existing files, in order.

    Folders and globs skip this script's own outputs inside `out_dir` (a folder that is both input and --out
    must not feed a rerun its results); a file named explicitly is always taken.
    """
    out_key = Path(out_dir).resolve() if out_dir is not None else None

    def is_own_output(f: Path) -> bool:
        return (out_key is not None and f.resolve().parent == out_key
                and (f.name == SUMMARY_NAME or f.suffix.lower() in OUTPUT_SUFFIXES))

    out, seen = [], set()
    for item in items:
        matches = sorted(glob.glob(item)) if glob.has_magic(item) else [item]
        if not matches:
            raise SystemExit(_usage_error(f"no file matches {item!r}"))
        for m in matches:
            p = Path(m)
            if p.is_dir():
                files = sorted(f for f in p.iterdir()
                               if f.is_file() and not f.name.startswith(".") and not is_own_output(f))
            elif p.is_file():
                files = [p] if m == item or not is_own_output(p) else []
            else:
                raise SystemExit(_usage_error(f"input not found: {item}"))
            for f in files:
                key = f.resolve()
                if key not in seen:
                    seen.add(key)
                    out.append(f)
    return out


def output_stems(inputs: list[Path], reserved=()) -> dict:
    """A unique output stem per input: its file stem, plus its parent folder's name where stems collide.

    `reserved` stems are never given out (e.g. 'summary' when the outputs include .json: summary.jpg's JSON
    would overwrite the report): such an input gets 'summary_2'.
    """
    counts = {}
    for p in inputs:
        counts[p.stem] = counts.get(p.stem, 0) + 1
    stems, used = {}, set(reserved)
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
    """Run one input; never raises for the input's own failures (they are recorded, a full disk too).

    Skipped (not redone) when every planned output exists and is verified complete, unless opts["overwrite"].
    """
    from inference.errors import BodyRigError
    from inference.fileio import as_write_error, is_complete

    out_dir = Path(opts["out"])
    outputs = planned_outputs(out_dir, stem, opts["formats"], opts["pifu"])
    record = {"input": str(path), "status": "ok", "outputs": [str(p) for p in outputs], "seconds": {},
              "error": None}
    if not opts["overwrite"] and all(is_complete(p) for p in outputs):
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
            raise BodyRigError(unknown_reason(path))
    except BodyRigError as exc:
        record.update(status="failed", error=str(exc))
    except OSError as exc:  # a write outside the verified writers: a full disk is this input's failure
        error = as_write_error(exc.filename or out_dir, exc)
        if error is exc:
            raise
        record.update(status="failed", error=str(error))
    except Exception as exc:  # a bug, but one input must not stop the batch: record it in full
        if os.environ.get("BODYRIG_DEBUG") == "1":
            raise
        record.update(status="failed", error=f"internal error: {type(exc).__name__}: {exc}",
                      traceback=traceback.format_exc())
    if record["status"] == "failed":
        record["outputs"] = [str(p) for p in outputs if is_complete(p)]
    watch.seconds["total"] = time.perf_counter() - t0
    record["seconds"] = {k: round(v, 4) for k, v in watch.seconds.items()}
    return record


# ----------------------------------------------------------------------------------------------- report
def write_summary(out_dir: Path, records: list, started: float, interrupted: bool, workers: int) -> Path:
    from inference.fileio import atomic_write_text

    totals = {s: sum(r["status"] == s for r in records) for s in ("ok", "failed", "skipped")}
    totals.update(inputs=len(records), seconds=round(time.perf_counter() - started, 3), interrupted=interrupted,
                  workers=workers)
    path = Path(out_dir) / SUMMARY_NAME
    atomic_write_text(path, json.dumps({"inputs": records, "totals": totals}, indent=1))
    return path


# ----------------------------------------------------------------------------------------------- running
def _script_argv() -> list[str]:
    """The script's own arguments, whether run by Python or by `blender -b -P batch.py -- ...` (Blender's own
    arguments end at the first `--`; a later `--` is the script's, before inputs starting with '-')."""
    if _in_blender_binary() and "--" in sys.argv:
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


def run_workers(jobs, args, base_args, on_record, check_stop=None) -> None:
    """Split the jobs into `args.workers` child processes; records stream back on their stdout.

    A worker that dies (killed, crashed) fails only the input it was doing - the first of its shard not yet
    reported - whose temporaries are removed, and a replacement worker does the rest of its shard.
    An Interrupted (SIGINT/SIGTERM) raised in the main thread while waiting (or by `check_stop()`) stops every worker
    (SIGTERM, then SIGKILL after WORKER_STOP_SECONDS) and propagates. Workers run in their own session, so a
    terminal's Ctrl-C reaches only this process. The shard folder is removed on every path.
    """
    import tempfile

    from inference.chunk_fitter import CPU_SHARE_ENV, cpus_available
    from inference.fileio import remove_stale_temporaries

    # the workers share the cores: each may use its part (a video's fit worker needs a core of its own)
    share_env = dict(os.environ, **{CPU_SHARE_ENV: str(max(1, cpus_available() // args.workers))})
    tmp = Path(tempfile.mkdtemp(prefix="bodyrig-batch-"))
    lock = threading.Lock()
    live: set = set()
    stopping = threading.Event()

    def run_shard(index, shard):
        remaining, spawn = list(shard), 0
        while remaining:
            shard_file = tmp / f"shard{index}-{spawn}.json"
            spawn += 1
            shard_file.write_text(json.dumps([[str(p), stem] for p, stem in remaining]))
            with lock:
                if stopping.is_set():
                    return
                proc = subprocess.Popen(_worker_command(shard_file, base_args), stdout=subprocess.PIPE,
                                        text=True, errors="replace", stdin=subprocess.DEVNULL,
                                        start_new_session=True, env=share_env)
                live.add(proc)
            for line in proc.stdout:
                if not line.startswith(RECORD_PREFIX):
                    continue
                try:
                    rec = json.loads(line[len(RECORD_PREFIX):])
                except ValueError:  # a line cut short by the worker's end
                    continue
                remaining = [(p, stem) for p, stem in remaining if str(p) != rec["input"]]
                with lock:
                    on_record(rec)
            code = proc.wait()
            with lock:
                live.discard(proc)
            if stopping.is_set() or not remaining:
                return
            path, stem = remaining.pop(0)  # the worker processes its shard in order: this one was running
            remove_stale_temporaries(args.out, [o.name for o in planned_outputs(Path(args.out), stem,
                                                                                args.formats, args.pifu)])
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            with lock:
                on_record({"input": str(path), "status": "failed", "outputs": [], "seconds": {},
                           "error": f"the worker process {how} while processing this input; rerun to retry it"})

    threads = [threading.Thread(target=run_shard, args=(i, shard), daemon=True)
               for i, shard in enumerate(jobs[i::args.workers] for i in range(args.workers)) if shard]
    try:
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(0.2)  # short waits: a signal's Interrupted is raised here promptly
            if check_stop is not None:
                check_stop()
    finally:
        stopping.set()
        with lock:
            procs = list(live)
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + WORKER_STOP_SECONDS
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for t in threads:
            t.join(WORKER_STOP_SECONDS)
        shutil.rmtree(tmp, ignore_errors=True)


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


def run_worker(args, opts) -> int:
    """A child: process the shard in order, one record line per input on stdout. SIGTERM (the parent stopping
    the batch) ends it at once and quietly, its temporaries removed; SIGINT is the parent's to handle."""
    from inference.fileio import remove_live_temporaries

    def terminate(signum, frame):
        remove_live_temporaries()
        os._exit(128 + signum)  # no exception: it could surface as a traceback or be swallowed mid-import

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, terminate)
    try:
        for path, stem in json.loads(Path(args.worker_shard).read_text()):
            rec = process_one(Path(path), stem, opts)
            print(RECORD_PREFIX + json.dumps(rec), flush=True)
    except BrokenPipeError:  # the parent is gone
        return 1
    return 0


def main(argv=None) -> int:
    try:
        args = parse_args(_script_argv() if argv is None else argv)
    except SystemExit as exc:  # argparse's usage errors exit 2 already; keep that code
        return int(exc.code or 0)
    from inference.interrupts import stop_signals
    from inference.pipeline import Settings

    settings = Settings(body=None if args.body == "open" else args.body, checkpoint=args.checkpoint,
                        device=args.device, pifu_net_g=args.net_g, pifu_net_c=args.net_c)
    opts = {"out": str(args.out), "formats": args.formats, "settings": settings, "overwrite": args.overwrite,
            "pifu": args.pifu}

    if args.worker_shard:
        return run_worker(args, opts)

    with stop_signals():  # the first SIGINT/SIGTERM raises Interrupted in the main thread (inference.interrupts)
        return _run_batch(args, opts)


def _run_batch(args, opts) -> int:
    from inference.errors import BodyRigError
    from inference.fileio import remove_stale_temporaries
    from inference.interrupts import held, raise_pending, stop_exit_code

    try:
        inputs = expand_inputs(args.inputs, out_dir=args.out)
        args.out.mkdir(parents=True, exist_ok=True)
    except SystemExit as exc:
        return int(exc.code)
    except OSError as exc:
        return _usage_error(f"cannot create the output folder {args.out}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        return stop_exit_code() or 130
    started = time.perf_counter()
    records, warned, bar = [], [], None
    interrupted = False
    try:
        stems = output_stems(inputs, reserved={Path(SUMMARY_NAME).stem} if "json" in args.formats else ())
        jobs = [(p, stems[str(p)]) for p in inputs]
        order = {str(p): i for i, (p, _) in enumerate(jobs)}
        names = [SUMMARY_NAME] + [o.name for _, stem in jobs
                                  for o in planned_outputs(args.out, stem, args.formats, args.pifu)]
        remove_stale_temporaries(args.out, names)  # left by a run that was killed (kill -9)
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), unit="file", file=sys.stderr, disable=None)

        def on_record(rec):
            records.append(rec)
            records.sort(key=lambda r: order.get(r["input"], 0))
            try:
                write_summary(args.out, records, started, interrupted=False, workers=args.workers)
            except (BodyRigError, OSError) as exc:  # e.g. a full disk: kept in memory, written again later
                if not warned:
                    warned.append(exc)
                    bar.write(f"batch.py: warning: {exc}; the summary is written again after the next input",
                              file=sys.stderr)
            bar.set_postfix_str(f"{Path(rec['input']).name}: {rec['status']}")
            bar.update(1)

        if args.engine == "ray":
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from batch_ray import run_ray

            # Ray calls must not be interrupted by a raising handler: the engine holds signals and polls for
            # one while it runs (queued tasks cancelled, finished ones recorded); the held one is raised here.
            run_ray(jobs, args, opts, on_record)
            raise_pending()
        elif args.workers == 1:
            for path, stem in jobs:
                raise_pending()
                on_record(process_one(path, stem, opts))
            raise_pending()
        else:
            run_workers(jobs, args, _child_args(args), on_record, check_stop=raise_pending)
    except KeyboardInterrupt:  # Interrupted, or a video's VideoInterrupted around it (--workers 1)
        interrupted = True
    with held():  # the work is over: its exit code is decided now, a signal from here on waits for the summary
        code = (stop_exit_code() or 130) if interrupted else None
        if bar is not None:
            bar.close()
        try:
            summary = write_summary(args.out, records, started, interrupted=interrupted, workers=args.workers)
        except (BodyRigError, OSError) as exc:
            print(f"batch.py: error: the summary could not be written: {exc} (exit {EXIT_SUMMARY_UNWRITABLE}; "
                  f"outputs verified so far are kept, a rerun skips them)", file=sys.stderr)
            return EXIT_SUMMARY_UNWRITABLE
        failed = sum(r["status"] == "failed" for r in records)
        how = " (interrupted)" if interrupted else ""
        print(f"{len(records)} of {len(inputs)} inputs done{how}: {len(records) - failed} ok or skipped, "
              f"{failed} failed; summary: {summary}", file=sys.stderr)
    return code or (1 if failed else 0)


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
