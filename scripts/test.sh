#!/usr/bin/env bash
# The README's test command: set-up, then the default test suite (everything but benchmarks).
# Extra arguments go to pytest (e.g. `bash scripts/test.sh tests/unit -x`). The real_blender tier builds its
# Debian 13 root once per machine under ~/.cache/bodyrig (needs root; under CI=true it fails rather than skips).
set -euo pipefail
cd "$(dirname "$0")/.."
# Tests keep built assets out of the user's cache; set-up builds the open body where the tests will read it.
export BODYRIG_CACHE="${BODYRIG_CACHE:-$PWD/.venv/bodyrig-cache}"
bash scripts/setup.sh
# The real-Blender tier builds its Debian root with debootstrap: install it where we may (root with apt).
if ! command -v debootstrap >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "[setup] installing debootstrap (for the real-Blender tier's Debian 13 root)" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap) >/dev/null 2>&1 \
    || echo "[setup] could not install debootstrap; the real-Blender tier will say why it cannot run" >&2
fi
exec .venv/bin/python -m pytest "$@"
