#!/usr/bin/env bash
# Idempotent set-up, shared by the README's two commands: creates .venv (Python 3.11) if missing, installs
# requirements.txt when it changed since the last install, then builds the cached assets. Fast when done.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  for py in "${BODYRIG_PYTHON:-}" python3.11 python3; do
    [ -n "$py" ] && command -v "$py" >/dev/null 2>&1 || continue
    if "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then echo "$py"; return; fi
  done
  echo "BodyRig needs Python 3.11 (the Python of Blender 4.2 to 5.0); set BODYRIG_PYTHON to one." >&2
  exit 1
}

if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv" >&2
  "$(find_python)" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[setup] installing requirements.txt into .venv (a few minutes the first time)" >&2
  .venv/bin/python -m pip install --disable-pip-version-check -q -r requirements.txt
  echo "$want" > "$stamp"
fi
# Built assets (the open body) go to the cache; the builder is instant when its cache is there.
.venv/bin/python -m inference body open --quiet >/dev/null
# The Khronos glTF validator (used by the export tests), pinned, installed once into .venv/node when npm exists.
if command -v npm >/dev/null 2>&1 && [ ! -f .venv/node/node_modules/gltf-validator/package.json ]; then
  echo "[setup] installing gltf-validator into .venv/node" >&2
  npm install --silent --no-audit --no-fund --prefix .venv/node gltf-validator@2.0.0-dev.3.10 >/dev/null
fi
