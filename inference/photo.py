"""Photo → SMPL body: the `fit` CLI (the stages are wired in inference.pipeline.fit_photo) and `fit_image`.

`python -m inference fit IMAGE --out OUT.json [--checkpoint CKPT] [--body PATH] [--device auto|cpu|cuda]`
writes a BodyFit as JSON (camera frame; see inference.results). Bad input, no person, an unusable
checkpoint or an --out that cannot be written exit 2 with one line on stderr.
"""

from __future__ import annotations


from .mediapipe_pose import DEFAULT_POSE_MODEL


def fit_image(image, body=None, checkpoint=None, device="auto", progress=None, pose_model=DEFAULT_POSE_MODEL):
    """inference.pipeline.fit_photo's BodyFit, for callers that have only these settings (benches, tests).

    image: a path, image bytes or an inference.images.Image; body: None/"open", "tiny" or an SMPL file path;
    checkpoint: an HMR checkpoint or None; device: "auto" | "cpu" | "cuda"; progress: callable(done, total, stage);
    pose_model: the keypoint model, "full" or "heavy" (inference.mediapipe_pose.POSE_MODELS).
    """
    from .pipeline import Settings, fit_photo

    settings = Settings(body=body, checkpoint=checkpoint, device=device, pose_model=pose_model)
    return fit_photo(image, settings, progress=progress).fit


# ------------------------------------------------------------------------------------------------- CLI


def add_arguments(parser) -> None:
    parser.add_argument("image", help="the photo (JPEG, PNG, ...)")
    parser.add_argument("--out", required=True, help="the JSON file to write (BodyFit, camera frame)")
    parser.add_argument("--checkpoint", default=None, help="HMR checkpoint (SPIN's model_checkpoint.pt)")
    parser.add_argument("--body", default=None, help="'open' (default), 'tiny' or an SMPL .pkl/.npz file")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    add_pose_model_argument(parser)


def add_pose_model_argument(parser) -> None:
    """The --pose-model option of the fit and video commands."""
    from .mediapipe_pose import POSE_MODELS

    parser.add_argument("--pose-model", default=DEFAULT_POSE_MODEL, choices=POSE_MODELS,
                        help=f"keypoint model (default {DEFAULT_POSE_MODEL}; heavy: slower, see bench/RESULTS.md)")


def run(args) -> int:
    import sys

    from .pipeline import Settings, fit_photo

    from .cli import write_output
    from .detect_ahead import DetectAhead
    from .fileio import check_output_path
    from .images import load_image

    out = check_output_path(args.out, (".json",))  # before the work
    settings = Settings(body=args.body, checkpoint=args.checkpoint, device=args.device, pose_model=args.pose_model)
    img = load_image(args.image)
    # MediaPipe in a child while this process imports torch and loads the body (inference.detect_ahead)
    with DetectAhead(img.rgb, img.name, settings.pose_model) as pending:
        fit = fit_photo(img, settings, detection=pending).fit
    with write_output(out):
        fit.save_json(out)
    t = ", ".join(f"{k} {v:.2f}s" for k, v in fit.timings.items())
    print(f"wrote {out} ({fit.body_model} body; {t})", file=sys.stderr)
    return 0
