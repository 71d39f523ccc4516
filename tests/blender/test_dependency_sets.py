"""The dependency installer's requirement sets: one tested set of exact pins per Python line.

The 3.11 set is what requirements.txt installs, so this venv (Python 3.11) must hold exactly its versions; the
3.13 set is installed and tested in Debian 13's Blender by tests/real_blender.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

from inference.errors import BodyRigError

REPO = Path(__file__).resolve().parents[2]
SETS = ("requirements-py311.txt", "requirements-py313.txt")


def _lines(path: Path) -> list[str]:
    return [ln.split("#", 1)[0].strip() for ln in path.read_text().splitlines() if ln.split("#", 1)[0].strip()]


@pytest.mark.parametrize("name", SETS)
def test_sets_are_exact_pins_of_every_dependency(name):
    from bodyrig.blender_addon.installer import DEPENDENCIES

    lines = _lines(REPO / "blender_addon" / name)
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+==[0-9][0-9A-Za-z.]*", ln) for ln in lines), lines
    names = [ln.split("==")[0].lower() for ln in lines]
    assert sorted(names) == sorted(DEPENDENCIES)  # each dependency once, with its purpose and module
    assert "numpy" not in names  # pinned to Blender's own at install time instead
    assert "mediapipe==0.10.35" in lines  # the Tasks API wheel, the same on 3.11 and 3.13


def test_requirements_txt_installs_the_311_set():
    lines = _lines(REPO / "requirements.txt")
    assert "-r blender_addon/requirements-py311.txt" in lines
    names = {re.split(r"[<>=!~ ]", ln)[0].lower() for ln in lines if not ln.startswith("-")}
    from bodyrig.blender_addon.installer import DEPENDENCIES

    assert not names & set(DEPENDENCIES)  # not pinned a second time, differently


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the development venv is Python 3.11")
def test_this_venv_holds_the_311_set():
    from bodyrig.blender_addon.installer import requirement_set

    pins = requirement_set()
    assert pins == requirement_set((3, 11))
    for dist, version in pins.items():
        installed = importlib.metadata.version(dist).split("+", 1)[0]  # torch's local label (+cpu) aside
        assert installed == version, (dist, installed, version)


def test_other_pythons_get_one_clear_message():
    from bodyrig.blender_addon.installer import python_problem, requirement_set

    assert python_problem((3, 11)) is None and python_problem((3, 13)) is None
    message = python_problem((3, 12))
    assert "3.11 and 3.13" in message and "Python 3.12" in message
    with pytest.raises(BodyRigError, match="Python 3.12"):
        requirement_set((3, 12))
    assert set(requirement_set((3, 13))) == set(requirement_set((3, 11)))


def test_a_different_installed_version_counts_as_missing(monkeypatch):
    from bodyrig.blender_addon import installer

    real = installer.installed_version
    monkeypatch.setattr(installer, "installed_version",
                        lambda dist: "0.10.14" if dist == "mediapipe" else real(dist))
    status = {module: (req, found) for module, req, _, found in installer.dependency_status()}
    assert status["mediapipe"] == ("mediapipe==0.10.35", False)  # an older BodyRig's mediapipe gets replaced
    assert status["torch"][1]
    assert installer.missing_requirements() == ["mediapipe==0.10.35"]


def test_panel_says_the_python_problem_instead_of_the_button(monkeypatch):
    from bodyrig.blender_addon import preferences

    class Layout:
        def __init__(self):
            self.drawn = []

        def __getattr__(self, name):
            def call(*args, **kw):
                self.drawn.append((name, kw.get("text", args[0] if args else "")))
                return self
            return call

    def operators(layout):
        return [text for kind, text in layout.drawn if kind == "operator"]

    monkeypatch.setattr(preferences, "python_problem", lambda: "this Blender runs Python 3.12: use ...")
    monkeypatch.setattr(preferences, "dependency_status", lambda: [("torch", "torch", "fitting", False)])
    layout = Layout()
    preferences.draw_dependencies(layout)
    assert operators(layout) == [] and any("Python 3.12" in text for _, text in layout.drawn)
    monkeypatch.setattr(preferences, "python_problem", lambda: None)
    layout = Layout()
    preferences.draw_dependencies(layout)
    assert operators(layout) == ["bodyrig.install_dependencies"]
