#!/usr/bin/env bash
# The main job: install everything, then run the pipeline on generated demo data (CPU, minutes).
#   bash scripts/demo.sh [--work-dir DIR]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install.sh
exec .venv/bin/python tools/run_demo.py "$@"
