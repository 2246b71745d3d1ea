#!/usr/bin/env bash
# Install nst_det and its pinned stack into .venv/ in the repository root.
#
#   bash scripts/install.sh
#
# Idempotent: a second run on an installed tree checks the environment and returns in seconds.
# mmcv 2.1.0 is built from source with its C++ ops (about 8 minutes on 2 cores) the first time;
# the wheel is cached under $NST_DET_CACHE (default ~/.cache/nst_det) keyed by mmcv, torch and
# Python versions, so a fresh .venv on the same machine reuses it.
#
# Environment: PYTHON (interpreter for the venv, default python3.11 or python3),
#              NST_DET_CACHE (wheel cache), MAX_JOBS (compiler jobs, default: all cores).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
CACHE="${NST_DET_CACHE:-$HOME/.cache/nst_det}"
MMCV_VERSION=2.1.0
STAMP="$VENV/.nst_det_install_stamp"

say() { printf '[install] %s\n' "$*"; }
die() { printf '[install] ERROR: %s\n' "$*" >&2; exit 1; }

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3 || true)}
[ -n "$PYTHON" ] || die "no python3 found; set PYTHON=/path/to/python3.11"

# The stamp covers every input of the install; an unchanged stamp plus a working import is "done".
stamp_of_inputs() {
    cat "$ROOT/requirements.txt" "$ROOT/requirements/build.txt" "$ROOT/pyproject.toml" \
        "$ROOT/scripts/install.sh" | sha256sum | cut -d' ' -f1
}
WANT_STAMP=$(stamp_of_inputs)

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT_STAMP" ] \
    && "$VENV/bin/python" -c "import mmdet, mmcv.ops, nst_det" 2>/dev/null; then
    say "environment in $VENV is up to date"
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV with $PYTHON ($("$PYTHON" --version 2>&1))"
    "$PYTHON" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
# pip, minus the per-package notes some machines print for local index folders lacking a package
pip_quiet() {
    "$VPY" -m pip --disable-pip-version-check "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}
PIP=(pip_quiet)

say "installing build prerequisites and torch (requirements/build.txt)"
"${PIP[@]}" install -q --upgrade pip
"${PIP[@]}" install -q -r "$ROOT/requirements/build.txt"

PYTAG=$("$VPY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
TORCH_VERSION=$("$VPY" -c 'import torch; print(torch.__version__.split("+")[0])')
WHEEL_DIR="$CACHE/wheels/mmcv-$MMCV_VERSION-torch$TORCH_VERSION-$PYTAG"

mmcv_ops_ok() {
    "$VPY" - <<'EOF' 2>/dev/null
import mmcv
assert mmcv.__version__ == "2.1.0", mmcv.__version__
from mmcv.ops import nms, RoIAlign  # noqa: F401  needs the compiled mmcv._ext
EOF
}

build_mmcv() {
    local src log
    src=$(mktemp -d)
    log="$CACHE/mmcv-build.log"
    mkdir -p "$WHEEL_DIR" "$CACHE"
    say "downloading the mmcv $MMCV_VERSION source distribution"
    "${PIP[@]}" download -q --no-deps --no-binary=:all: --no-build-isolation "mmcv==$MMCV_VERSION" -d "$src"
    tar -xzf "$src/mmcv-$MMCV_VERSION.tar.gz" -C "$src"
    # torch >= 2.13 headers refuse anything older than C++20; mmcv 2.1.0 hard-codes C++17.
    sed -i -e 's/-std=c++17/-std=c++20/g' -e 's#/std:c++17#/std:c++20#g' "$src/mmcv-$MMCV_VERSION/setup.py"
    say "building mmcv $MMCV_VERSION with C++ ops against torch $TORCH_VERSION:" \
        "this takes about 8 minutes on 2 cores (log: $log)"
    local start=$SECONDS
    if ! MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
        "${PIP[@]}" wheel --no-deps --no-build-isolation -w "$src/wheel" "$src/mmcv-$MMCV_VERSION" \
        >"$log" 2>&1; then
        printf '[install] ERROR: the mmcv build failed. First compiler errors:\n' >&2
        grep -m 8 -E 'error:|Error:|fatal error' "$log" >&2 || tail -n 20 "$log" >&2
        die "mmcv $MMCV_VERSION did not build against torch $TORCH_VERSION (full log: $log)"
    fi
    mv "$src"/wheel/mmcv-*.whl "$WHEEL_DIR/"
    rm -rf "$src"
    say "mmcv built in $((SECONDS - start)) s; cached in $WHEEL_DIR"
}

if mmcv_ops_ok; then
    say "mmcv $MMCV_VERSION with ops already installed"
else
    if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
        build_mmcv
    else
        say "using cached mmcv wheel from $WHEEL_DIR"
    fi
    "${PIP[@]}" install -q --no-deps --force-reinstall "$WHEEL_DIR"/mmcv-*.whl
fi

say "installing the pinned stack (requirements.txt)"
"${PIP[@]}" install -q -r "$ROOT/requirements.txt"

say "installing nst_det (editable)"
"${PIP[@]}" install -q --no-deps --no-build-isolation -e "$ROOT"

say "checking imports"
"$VPY" -c "import mmdet, mmcv.ops, nst_det; import torch; print('[install] torch', torch.__version__, '| mmcv', __import__('mmcv').__version__, '| mmdet', mmdet.__version__, '| nst_det', nst_det.__version__)" \
    || die "the installed environment does not import (see the traceback above)"
echo "$WANT_STAMP" >"$STAMP"
say "done: activate with 'source .venv/bin/activate'"
