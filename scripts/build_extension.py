"""Build the Blender extension zip the way `blender --command extension build` does, without Blender.

The PyPI `bpy` module has no `blender` executable, so this script reads blender_manifest.toml and zips:
- the manifest itself (always, first), and
- either the files listed in [build] `paths`, or every file under the source folder that [build]
  `paths_exclude_pattern` does not exclude (Blender's defaults when the table is absent).
Pattern rules (gitignore-like, as Blender's builder applies them): a leading "/" anchors a pattern at the
source root, otherwise it matches at any depth; a trailing "/" matches directories only; `*`, `?`, `[...]` match
within one path component and `**` any number of components; "!" negates. A directory pattern also matches
everything beneath a matching directory. Patterns are tested in order: a
matching pattern excludes, a matching negated pattern includes and ends the test. A directory that is excluded is
not entered. Symbolic links are skipped.

    python scripts/build_extension.py [--source-dir .] [--output-dir dist] [--list]
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

MANIFEST = "blender_manifest.toml"
DEFAULT_EXCLUDES = ["__pycache__/", ".*", "/*.zip", "*.blend[1-9]"]
TAGLINE_MAX = 64


class BuildError(Exception):
    pass


def _match_parts(pattern: list[str], parts: list[str]) -> bool:
    """Full match of path components against pattern components (`**` = zero or more components)."""
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_match_parts(rest, parts[i:]) for i in range(len(parts) + 1))
    return bool(parts) and fnmatch.fnmatchcase(parts[0], head) and _match_parts(rest, parts[1:])


def pattern_matches(pattern: str, rel_path: str, is_dir: bool) -> bool:
    """Whether one (non-negated) exclude pattern matches `rel_path` ("a/b/c", relative to the source root)."""
    if pattern.startswith("\\!"):
        pattern = pattern[1:]
    while "//" in pattern:
        pattern = pattern.replace("//", "/")
    dir_only = pattern.endswith("/")
    anchored = pattern.startswith("/")
    pat = [p for p in pattern.strip("/").split("/") if p]
    parts = rel_path.split("/")
    n = len(parts)
    starts = [0] if anchored else range(n)
    if not dir_only:
        return any(_match_parts(pat, parts[i:]) for i in starts)
    # A directory pattern matches the directory and everything beneath it.
    return any(_match_parts(pat, parts[i:j]) for i in starts for j in range(i + 1, n + 1) if j < n or is_dir)


def is_excluded(patterns: list[str], rel_path: str, is_dir: bool) -> bool:
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern.lstrip("!") if negate else pattern
        if not body or not pattern_matches(body, rel_path, is_dir):
            continue
        if negate:
            return False
        excluded = True
    return excluded


def read_manifest(source_dir: Path) -> dict:
    path = source_dir / MANIFEST
    if not path.is_file():
        raise BuildError(f"{path} not found")
    with open(path, "rb") as fh:
        manifest = tomllib.load(fh)
    for key in ("schema_version", "id", "version", "name", "tagline", "maintainer", "type", "license",
                "blender_version_min"):
        if key not in manifest:
            raise BuildError(f"{MANIFEST}: missing required field {key!r}")
    tagline = manifest["tagline"]
    if len(tagline) > TAGLINE_MAX or not (tagline[-1].isalnum() or tagline[-1] in ")]}"):
        raise BuildError(f"{MANIFEST}: tagline must be at most {TAGLINE_MAX} characters without trailing "
                         f"punctuation: {tagline!r}")
    build = manifest.get("build", {})
    if "paths" in build and "paths_exclude_pattern" in build:
        raise BuildError(f"{MANIFEST}: [build] may declare paths or paths_exclude_pattern, not both")
    return manifest


def collect(source_dir) -> list[str]:
    """The archive's member names (relative, "/"-separated), manifest first, in a stable order."""
    source_dir = Path(source_dir)
    manifest = read_manifest(source_dir)
    build = manifest.get("build", {})
    extra = [MANIFEST, *manifest.get("wheels", [])]
    if "paths" in build:
        files = list(build["paths"])
        for rel in files:
            if not (source_dir / rel).is_file():
                raise BuildError(f"{MANIFEST}: [build] paths entry {rel!r} is not a file")
        return extra + [f for f in files if f not in extra]
    patterns = list(build.get("paths_exclude_pattern", DEFAULT_EXCLUDES))
    skip = {e.lower() for e in extra}
    members = []

    def walk(folder: Path, prefix: str):
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.is_symlink():
                continue
            rel = f"{prefix}{entry.name}"
            is_dir = entry.is_dir()
            if is_excluded(patterns, rel, is_dir):
                continue
            if is_dir:
                walk(Path(entry.path), rel + "/")
            elif entry.is_file() and rel.lower() not in skip:
                members.append(rel)

    walk(source_dir, "")
    if manifest["type"] == "add-on" and not any(m.startswith("__init__.") for m in members):
        raise BuildError("not a Python package: the build has no top-level __init__.py")
    return extra + members


def build(source_dir=".", output_dir="dist") -> Path:
    """Write <output_dir>/<id>-<version>.zip (atomically) and return its path."""
    source_dir = Path(source_dir).resolve()
    manifest = read_manifest(source_dir)
    members = collect(source_dir)
    out_dir = Path(output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{manifest['id']}-{manifest['version']}.zip"
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out_dir)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for rel in members:
                zf.write(source_dir / rel, rel)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source-dir", default=".", help="the folder holding blender_manifest.toml")
    parser.add_argument("--output-dir", default="dist", help="where the zip goes (default: dist)")
    parser.add_argument("--list", action="store_true", help="print the files that would be packed and stop")
    args = parser.parse_args(argv)
    try:
        if args.list:
            print("\n".join(collect(args.source_dir)))
            return 0
        out = build(args.source_dir, args.output_dir)
    except (BuildError, OSError, tomllib.TOMLDecodeError) as exc:
        print(f"build_extension: {exc}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
