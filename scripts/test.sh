#!/usr/bin/env bash
# The README's test command: set-up, then the default test suite (everything but benchmarks).
# Extra arguments go to pytest (e.g. `bash scripts/test.sh tests/unit -x`). The real_blender tier builds its
# Debian 13 root once per machine under ~/.cache/bodyrig (needs root; under CI=true it fails rather than skips).
set -euo pipefail
cd "$(dirname "$0")/.."
# Tests keep built assets out of the user's cache; set-up builds the open body where the tests will read it.
export BODYRIG_CACHE="${BODYRIG_CACHE:-$PWD/.venv/bodyrig-cache}"
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
