#!/usr/bin/env bash
# Train under Slurm, as mmdet's tools/slurm_train.sh does (one task per GPU, srun starts them all):
#
#   tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [ARGS of the training tool]
#   GPUS=16 tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR      # two 8-GPU nodes
#
# The tool: tools/pretrain_backbone.py for a config under an imagenet/ folder (configs/distill/imagenet/...),
# tools/train_det.py otherwise; TOOL=pretrain_backbone.py or TOOL=train_det.py chooses it.
# Environment (mmdet's names): GPUS (8, all tasks), GPUS_PER_NODE (8), CPUS_PER_TASK (5),
# SRUN_ARGS (more srun flags, e.g. "--quotatype=auto"), PYTHON (python), TOOL.
set -euo pipefail
set -x

PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}
case "$CONFIG" in
    imagenet/*|*/imagenet/*) TOOL=${TOOL:-pretrain_backbone.py} ;;
    *) TOOL=${TOOL:-train_det.py} ;;
esac

# SRUN_ARGS is split into words on purpose (several flags in one variable, as in mmdet)
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
    "$PYTHON" -u "$(dirname "$0")/$TOOL" "$CONFIG" --work-dir="$WORK_DIR" --launcher=slurm "${@:5}"
