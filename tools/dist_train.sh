#!/usr/bin/env bash
# Train on GPUS processes of this node (and NNODES nodes), as mmdet's tools/dist_train.sh does:
#
#   tools/dist_train.sh CONFIG GPUS [ARGS of the training tool]
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 PORT=29500 tools/dist_train.sh CONFIG 8 [ARGS]   # on node 0
#   NNODES=2 NODE_RANK=1 MASTER_ADDR=10.0.0.1 PORT=29500 tools/dist_train.sh CONFIG 8 [ARGS]   # on node 1
#
# The tool: tools/pretrain_backbone.py for a config under an imagenet/ folder (configs/distill/imagenet/...),
# tools/train_det.py otherwise; TOOL=pretrain_backbone.py or TOOL=train_det.py chooses it.
# Environment (mmdet's names): NNODES (1), NODE_RANK (0), PORT (29500), MASTER_ADDR (127.0.0.1),
# PYTHON (python), TOOL.
set -euo pipefail

CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
case "$CONFIG" in
    imagenet/*|*/imagenet/*) TOOL=${TOOL:-pretrain_backbone.py} ;;
    *) TOOL=${TOOL:-train_det.py} ;;
esac

PYTHONPATH="$(cd "$(dirname "$0")/.." && pwd)${PYTHONPATH:+:$PYTHONPATH}" \
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$(dirname "$0")/$TOOL" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
