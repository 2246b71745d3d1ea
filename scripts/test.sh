#!/usr/bin/env bash
# Install everything (first time: builds mmcv, ~8 min on 2 cores) and run the test suite.
#   bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install.sh
exec .venv/bin/python -m pytest -q --durations=15 "$@"
