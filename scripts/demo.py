"""The main job on the embedded default: the sample photo → a rigged, posed character (.blend) + a PNG render.

Run through `bash scripts/demo.sh` (which sets up .venv first). Prints the two paths. Each stage says what it
did; a stage whose code has not landed yet is reported as missing and the demo exits 3.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# (stage, module that provides it): the pipeline in order.
STAGES = (
    ("open body", "inference.body.open_body"),
    ("photo fitting", "inference.photo"),
    ("rig building", "operators.character"),
)


def main(argv=None) -> int:
    from inference.cache import SAMPLE_PHOTO

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=SAMPLE_PHOTO)
    parser.add_argument("--out", type=Path, default=REPO / "out")
    args = parser.parse_args(argv)

    missing = []
    for stage, module in STAGES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith(module.split(".")[0]):
                missing.append(f"{stage} ({module})")
            else:
                raise
    if missing:
        print(f"photo: {args.photo}")
        print("the pipeline is not complete yet; missing: " + ", ".join(missing))
        return 3

    from scripts_demo_pipeline import run  # noqa: F401  (replaced once every stage has landed)

    t0 = time.perf_counter()
    blend, png = run(args.photo, args.out)
    print(f"blend: {blend}\npng: {png}\n({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
