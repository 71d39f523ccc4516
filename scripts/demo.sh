#!/usr/bin/env bash
# The README's main command: set-up, then the sample photo → a rigged, posed character (.blend + PNG).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python scripts/demo.py "$@"
