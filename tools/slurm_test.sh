#!/usr/bin/env bash
# Test a detector checkpoint under Slurm, as mmdet's tools/slurm_test.sh does:
#
#   tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [ARGS of tools/test_det.py]
#
# Environment (mmdet's names): GPUS (8), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS,
# PYTHON (python), TOOL (test_det.py).
set -euo pipefail
set -x

PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}
TOOL=${TOOL:-test_det.py}

# shellcheck disable=SC2086
PYTHONPATH="$(cd "$(dirname "$0")/.." && pwd)${PYTHONPATH:+:$PYTHONPATH}" \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    "$PYTHON" -u "$(dirname "$0")/$TOOL" "$CONFIG" "$CHECKPOINT" --launcher=slurm "${@:5}"
