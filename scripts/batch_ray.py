"""The batch on Ray (`scripts/batch.py ... --engine ray [--address ADDR]`): one Ray task per input.

The driver (batch.py's main) keeps at most `--workers` tasks in flight, turns each finished task into a record
(the same `process_one` record as the local engine) and hands it to batch.py, which rewrites summary.json and the
progress bar. Without `--address` it starts a local cluster with `--workers` CPUs and stops it at the end.

- Retries: a task whose worker process dies (SIGKILL, OOM killer, a crashing native library) is rerun by Ray up to
  MAX_RETRIES times; an input's own failure is a record, never an exception, so it is not retried.
- Idempotent: process_one skips inputs whose outputs are complete and writes under temporary names, so a rerun
  (or a retried task) never sees or leaves a half-written file.
- Models once per worker: Ray reuses a worker process for the next task, and BodyRig's caches are per process
  (body models in inference/body/load.py, landmarkers in inference/mediapipe_pose.py, checkpoints in
  inference/checkpoints.py). max_calls=0 keeps that true for GPU tasks too (Ray's default recycles a GPU worker
  after every task). Each record names its worker (host, pid, task number in that process).
- Shared storage: inputs and outputs travel by path; a worker that cannot see one says so in its record.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parent
MAX_RETRIES = 3  # reruns of a task whose worker process died
TEST_HOOKS_ENV = "BODYRIG_BATCH_TEST_HOOKS"  # tests only: a folder of per-input hook files (see _test_hooks)

_tasks_in_this_process = 0  # a worker's task count: 2 and up ran with the models the first one loaded


# ----------------------------------------------------------------------------------------------- worker side
def unreachable(path: str, out_dir: str) -> str | None:
    """Why this worker cannot do the input (not visible here), or None."""
    host = socket.gethostname()
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        return (f"the Ray worker on {host} cannot read the input {path}: put inputs on storage every node "
                f"mounts at the same path")
    if not os.path.isdir(out_dir) or not os.access(out_dir, os.W_OK | os.X_OK):
        return (f"the Ray worker on {host} cannot write to the output folder {out_dir}: give --out a folder "
                f"every node mounts at the same path")
    return None


def _test_hooks(stem: str) -> None:
    """Tests only, with $BODYRIG_BATCH_TEST_HOOKS=DIR: write DIR/STEM.pid (this worker's pid) at the start of the
    task; DIR/STEM.hold: wait (renamed .held, so only the first attempt waits) so a test can kill the worker
    mid-task; DIR/STEM.crash: the worker kills itself, every attempt (a poisoned input)."""
    hooks = os.environ.get(TEST_HOOKS_ENV)
    if not hooks:
        return
    d = Path(hooks)
    hold = d / f"{stem}.hold"
    held = hold.exists()
    if held:  # before the pid is written: a kill right after it must not leave the retry holding too
        hold.rename(d / f"{stem}.held")
    with open(d / f"{stem}.pid", "a") as fh:
        fh.write(f"{os.getpid()}\n")
    if (d / f"{stem}.crash").exists():
        os.kill(os.getpid(), signal.SIGKILL)
    if held:
        deadline = time.monotonic() + 120  # never hang a test run: go on if nobody kills us
        while time.monotonic() < deadline:
            time.sleep(0.05)


def run_input(path: str, stem: str, opts: dict) -> dict:
    """One Ray task: batch.process_one on this worker, plus where it ran."""
    global _tasks_in_this_process
    _tasks_in_this_process += 1
    _test_hooks(stem)
    where = {"host": socket.gethostname(), "pid": os.getpid(), "task": _tasks_in_this_process}
    problem = unreachable(path, opts["out"])
    if problem:
        record = {"input": path, "status": "failed", "outputs": [], "seconds": {}, "error": problem}
    else:
        from batch import process_one  # scripts/ is on the workers' PYTHONPATH (see worker_env)

        record = process_one(Path(path), stem, opts)
    record["worker"] = where
    return record


# ----------------------------------------------------------------------------------------------- driver side
def worker_env() -> dict:
    """Environment for the workers: this checkout's scripts/ and root importable, and BodyRig's variables
    (cache folder, debug) as the driver has them, so every node uses the same shared cache."""
    path = [str(SCRIPTS), str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {k: v for k, v in os.environ.items() if k.startswith("BODYRIG_")}
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(path))
    return env


def _failure(path, error: str) -> dict:
    return {"input": str(path), "status": "failed", "outputs": [], "seconds": {}, "error": error}


def _record(ref, path) -> dict:
    """The finished task's record, naming the input as the user gave it (the task got its absolute path); a task
    that raised (its worker died every time, or a bug) → a failed record."""
    import ray
    from ray import exceptions as rx

    try:
        return dict(ray.get(ref), input=str(path))
    except (rx.WorkerCrashedError, rx.NodeDiedError, rx.OutOfMemoryError) as exc:
        return _failure(path, f"the Ray worker processing this input kept dying ({type(exc).__name__}; Ray "
                              f"retried it {MAX_RETRIES} times): see the Ray logs of that node")
    except rx.TaskCancelledError:
        return _failure(path, "cancelled")
    except rx.RayError as exc:
        return _failure(path, f"internal error: {str(exc).strip().splitlines()[-1]}")


def _connect(address, workers: int) -> None:
    import logging

    import ray

    runtime_env = {"env_vars": worker_env()}
    common = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                  runtime_env=runtime_env)
    try:
        if address:
            ray.init(address=address, **common)
        else:
            ray.init(num_cpus=workers, **common)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
        print(f"batch.py: error: cannot start or reach {where}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def run_ray(jobs, args, opts, on_record) -> bool:
    """Run every (path, stem) job as a Ray task, calling on_record(record) as each finishes (in finishing
    order). Returns False when all are done, True when a stop signal ended it: queued tasks are cancelled and
    finished ones recorded. Signals are held while Ray is driven (a handler raising mid-Ray-call is unsafe): the
    caller's raise_pending() (inference.interrupts) raises the one that came."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no phoning home from farms or tests
    import ray

    from inference.interrupts import held, stop_requested

    _connect(args.address, args.workers)
    try:
        gpus = ray.cluster_resources().get("GPU", 0)
        want_gpu = args.device == "cuda" or (args.device == "auto" and gpus > 0)
        if want_gpu and gpus == 0:
            print("batch.py: error: --device cuda but the Ray cluster has no GPU; use --device cpu or auto",
                  file=sys.stderr)
            raise SystemExit(2)
        task = ray.remote(num_cpus=1, num_gpus=1 if want_gpu else 0, max_retries=MAX_RETRIES,
                          retry_exceptions=False, max_calls=0)(run_input)
        # Absolute paths: a worker on another node does not share the driver's working folder.
        opts = dict(opts, out=os.path.abspath(opts["out"]))
        queue, in_flight = list(jobs), {}
        with held():  # also puts the stop handlers back over ray.init's own SIGTERM handler for the loop
            while (queue or in_flight) and not stop_requested():
                while queue and len(in_flight) < args.workers:
                    path, stem = queue.pop(0)
                    in_flight[task.remote(os.path.abspath(path), stem, opts)] = path
                done, _ = ray.wait(list(in_flight), num_returns=1, timeout=0.5)
                for ref in done:
                    on_record(_record(ref, in_flight.pop(ref)))
            if not stop_requested():
                return False
            # Stopped: cancel what is queued or running (outputs are renamed into place, so nothing is torn),
            # and record what finished meanwhile.
            for ref in in_flight:
                ray.cancel(ref)
            done, _ = ray.wait(list(in_flight), num_returns=len(in_flight), timeout=10)
            for ref in done:
                rec = _record(ref, in_flight[ref])
                if rec["error"] != "cancelled":
                    on_record(rec)
            return True
    finally:
        ray.shutdown()  # stops the local cluster this run started; only disconnects from an --address one
