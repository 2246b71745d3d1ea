#!/usr/bin/env bash
# Install nst_det and its pinned stack into .venv/ in the repository root.
#
#   bash scripts/install.sh
#
# Idempotent: a second run on an installed tree checks the environment and returns in seconds.
# mmcv 2.1.0 is built from source with its C++ ops (about 8 minutes on 2 cores) the first time, with
# CUDA ops on a machine whose nvidia-smi lists a GPU (scripts/mmcv_build.py decides and finds nvcc, or
# installs NVIDIA's pip toolkit for torch's CUDA version). The wheel is cached under $NST_DET_CACHE
# (default ~/.cache/nst_det) keyed by mmcv, torch's full version, Python, and cpu / CUDA version + GPU
# architectures, so a fresh .venv on the same machine reuses it and a CPU wheel never serves a GPU.
#
# Environment: PYTHON (interpreter for the venv, default python3.11 or python3),
#              NST_DET_CACHE (wheel cache), MAX_JOBS (compiler jobs, default: all cores),
#              NST_DET_CUDA (1: build CUDA ops, 0: CPU ops; default: CUDA ops when a GPU is visible),
#              TORCH_CUDA_ARCH_LIST (default: the visible GPUs'), CUDA_HOME (default: found, or pip).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
CACHE="${NST_DET_CACHE:-$HOME/.cache/nst_det}"
MMCV_VERSION=2.1.0
STAMP="$VENV/.nst_det_install_stamp"
MMCV_KEY_FILE="$VENV/.nst_det_mmcv_build"   # the cache key of the mmcv build installed in the venv

say() { printf '[install] %s\n' "$*"; }
die() { printf '[install] ERROR: %s\n' "$*" >&2; exit 1; }

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3 || true)}
[ -n "$PYTHON" ] || die "no python3 found; set PYTHON=/path/to/python3.11"

# The stamp covers every input of the install; an unchanged stamp plus a working import is "done".
stamp_of_inputs() {
    cat "$ROOT/requirements.txt" "$ROOT/requirements/build.txt" "$ROOT/pyproject.toml" \
        "$ROOT/scripts/install.sh" "$ROOT/scripts/mmcv_build.py" | sha256sum | cut -d' ' -f1
}
WANT_STAMP=$(stamp_of_inputs)

# The mmcv build this machine wants (CPU or CUDA ops, which toolkit, the wheel cache key).
plan_mmcv_build() {
    local plan
    plan=$("$VENV/bin/python" "$ROOT/scripts/mmcv_build.py" plan --venv "$VENV") || exit 1
    eval "$plan"
}

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT_STAMP" ] \
    && "$VENV/bin/python" -c "import mmdet, mmcv.ops, nst_det" 2>/dev/null; then
    plan_mmcv_build
    if [ "$(cat "$MMCV_KEY_FILE" 2>/dev/null)" = "$MMCV_CACHE_KEY" ]; then
        say "environment in $VENV is up to date ($MMCV_CACHE_KEY)"
        exit 0
    fi
    say "the installed mmcv build is not $MMCV_CACHE_KEY: installing that one"
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

TORCH_VERSION=$("$VPY" -c 'import torch; print(torch.__version__)')
plan_mmcv_build
WHEEL_DIR="$CACHE/wheels/$MMCV_CACHE_KEY"

# CUDA builds without a toolkit on the machine: NVIDIA's pip packages for torch's CUDA version
install_pip_cuda_toolkit() {
    [ "$MMCV_WITH_CUDA" = 1 ] && [ -n "$MMCV_PIP_TOOLKIT" ] || return 0
    say "no CUDA toolkit (nvcc) found: installing NVIDIA's pip toolkit $MMCV_PIP_TOOLKIT"
    # shellcheck disable=SC2086  # a list of requirement specifiers
    "${PIP[@]}" install -q $MMCV_PIP_TOOLKIT
    "$VPY" "$ROOT/scripts/mmcv_build.py" assemble --venv "$VENV" >/dev/null || exit 1
}

mmcv_ops_ok() {
    [ "$(cat "$MMCV_KEY_FILE" 2>/dev/null)" = "$MMCV_CACHE_KEY" ] || return 1
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
    if [ "$MMCV_WITH_CUDA" = 1 ]; then
        install_pip_cuda_toolkit
        say "building mmcv $MMCV_VERSION with C++ and CUDA ops (archs $TORCH_CUDA_ARCH_LIST, CUDA_HOME" \
            "$CUDA_HOME) against torch $TORCH_VERSION: about 10-20 minutes (log: $log)"
    else
        say "building mmcv $MMCV_VERSION with C++ ops against torch $TORCH_VERSION:" \
            "this takes about 8 minutes on 2 cores (log: $log)"
    fi
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
    echo "$MMCV_CACHE_KEY" >"$MMCV_KEY_FILE"
fi

say "installing the pinned stack (requirements.txt)"
"${PIP[@]}" install -q -r "$ROOT/requirements.txt"

say "installing nst_det (editable)"
"${PIP[@]}" install -q --no-deps --no-build-isolation -e "$ROOT"

say "checking imports"
"$VPY" -c "import mmdet, mmcv.ops, nst_det; import torch; print('[install] torch', torch.__version__, '| mmcv', __import__('mmcv').__version__, '| mmdet', mmdet.__version__, '| nst_det', nst_det.__version__)" \
    || die "the installed environment does not import (see the traceback above)"
"$VPY" "$ROOT/scripts/mmcv_build.py" check || exit 1
echo "$WANT_STAMP" >"$STAMP"
say "done: activate with 'source .venv/bin/activate'"
