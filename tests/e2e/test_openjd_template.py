"""The Open Job Description template (farm/openjd/): validated by the openjd tools, and run locally by
`openjd run` (two photos as two tasks, then the folder's summary step)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "farm" / "openjd" / "bodyrig-batch.template.yaml"
OPENJD = Path(sys.executable).parent / "openjd"

pytestmark = pytest.mark.skipif(not OPENJD.exists(), reason="openjd-cli is not installed (requirements.txt)")


def _openjd(*args):
    return subprocess.run([str(OPENJD), *map(str, args)], capture_output=True, text=True, timeout=600)


def test_template_validates():
    proc = _openjd("check", TEMPLATE)
    assert proc.returncode == 0 and "passes validation" in proc.stdout, proc.stdout + proc.stderr


def test_validator_rejects_a_broken_template(tmp_path):
    """The check is not vacuous: a reference to an undefined parameter fails it."""
    broken = tmp_path / "broken.yaml"
    broken.write_text(TEMPLATE.read_text().replace("{{Param.OutputFolder}}", "{{Param.OutputFolda}}"))
    proc = _openjd("check", broken)
    assert proc.returncode != 0 and "OutputFolda" in proc.stdout + proc.stderr


def test_openjd_runs_a_task_per_input_then_the_summary(tmp_path):
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    for name in ("a.jpg", "b.jpg"):
        shutil.copy(REPO / "data" / "sample_photo.jpg", inputs / name)
    files = [str(inputs / "a.jpg"), str(inputs / "b.jpg")]
    proc = _openjd("run", TEMPLATE, "--step", "Summary", "--run-dependencies",
                   "-p", f"InputFolder={inputs}", "-p", f"Inputs={json.dumps(files)}", "-p", f"OutputFolder={out}",
                   "-p", f"BodyRig={REPO}", "-p", f"Python={sys.executable}", "-p", "Formats=json",
                   "-p", "Body=tiny")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Chunks run: 3" in proc.stdout  # 2 input tasks + the summary step
    for name in ("a", "b"):
        assert len(json.loads((out / f"{name}.json").read_text())["pose"]) == 24
    summary = json.loads((out / "summary.json").read_text())
    # the summary step reran the folder: both were complete, so both are skipped, not redone
    assert [(Path(r["input"]).name, r["status"]) for r in summary["inputs"]] == [("a.jpg", "skipped"),
                                                                                   ("b.jpg", "skipped")]
