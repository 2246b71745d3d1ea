#!/usr/bin/env bash
# The GPU measurements of BENCHMARKS.md ("GPU at real sizes") in one run, on one GPU.
#
#   bash scripts/gpu_check.sh [OUT_DIR]        # OUT_DIR defaults to $OUT, else work_dirs/gpu_check
#   ONLY="02 05" bash scripts/gpu_check.sh     # only these steps (the stack check, 01, always runs)
#
# Run it where the stack is installed with CUDA ops: torch with CUDA, mmcv 2.1.0 built with CUDA ops,
# mmdet 3.3.0, mmengine 0.10.7, pycocotools (bash scripts/install.sh on a GPU machine does it; python -m
# nst_det.check says what is missing). SETUP='COMMAND' runs COMMAND in this script's shell first, e.g. to
# put wheels prebuilt for a machine without a package registry on PYTHONPATH.
# Each step has its own time limit and log (OUT_DIR/NN-step.log); a step that fails
# or runs out of time is reported and the next one runs. The steps, most important first:
#   1. the stack: GPU, versions, nst_det.check (mmcv's nms/RoIAlign on the GPU), what the installer would build;
#   2. tools/benchmark_nst.py: NST vs broadcast / C x C at FPN P2-P6 and ImageNet layer3/layer4 sizes;
#   3. tools/benchmark_pretrain.py: R-101 -> R-18 distillation step vs teacher forward + student step
#      (batch 256, bf16, channels_last), NST at layer4, then at layer3 + layer4;
#   4. tools/benchmark_det.py: Faster R-CNN R-50 student / R-101 teacher, 800x1333, batch 8, fp16,
#      NST on P2-P5 (the shipped configs' levels) vs the teacher forward + student step;
#   5. a short real training run at full image size (1333x800, batch 4, fp16): loss logged;
#   6. tools/benchmark_pretrain.py --data: end to end from JPEG files, CPU (PIL) vs device decoding,
#      eager and torch.compile.
# The data for 5 and 6 is generated in the background while 2-4 run (CPU only, so the GPU timings keep
# the GPU to themselves).
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -n "${SETUP:-}" ]; then
    eval "$SETUP" || { echo "SETUP failed: $SETUP" >&2; exit 1; }
fi
OUT_DIR=${1:-${OUT:-work_dirs/gpu_check}}
mkdir -p "$OUT_DIR"
PY=${PYTHON:-python3}
WORKERS=$(( $(nproc) > 12 ? 12 : $(nproc) ))
SCRATCH=/tmp/nst_det_gpu_check
FULL_DATA=$SCRATCH/det_full
JPEGS=$SCRATCH/jpegs

selected() {  # selected NN: whether step NN runs (ONLY unset: every step)
    [[ $1 == 01 || -z "${ONLY:-}" || " $ONLY " == *" $1 "* ]]
}

step() {  # step NAME LIMIT_S COMMAND...: run with a time limit, log to OUT_DIR/NAME.log, print its tail
    local name=$1 limit=$2 start rc
    shift 2
    selected "${name%%-*}" || return 0
    echo "== $name (limit ${limit}s): $*"
    start=$(date +%s)
    timeout --kill-after=15 "$limit" "$@" > "$OUT_DIR/$name.log" 2>&1
    rc=$?
    echo "   exit $rc after $(( $(date +%s) - start ))s"
    grep -v -E "^(\s*$|.*Warning|.*warn\()" "$OUT_DIR/$name.log" | tail -n "${TAIL_LINES:-30}"
    return 0
}

step 01-stack 60 bash -c "nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv \
    && $PY -c 'import torch, torchvision, mmcv, mmdet, mmengine; print(\"torch\", torch.__version__, \"cuda\", \
torch.version.cuda, \"torchvision\", torchvision.__version__, \"mmcv\", mmcv.__version__, \"mmdet\", \
mmdet.__version__, \"mmengine\", mmengine.__version__, \"gpu\", torch.cuda.get_device_name())' \
    && $PY -m nst_det.check \
    && $PY scripts/mmcv_build.py plan --venv $SCRATCH/venv"

# data for steps 6 and 7, written on the CPU while the GPU benchmarks run
mkdir -p "$SCRATCH"
if selected 06; then
    $PY tools/make_demo_data.py --out "$FULL_DATA" --layouts voc --det-size 800 1333 --num-trainval 400 \
        --num-test 50 > "$OUT_DIR/data-det.log" 2>&1 &
fi
if selected 07; then
    $PY -c "from pathlib import Path; from nst_det.data import make_classification_dataset as make
make(Path('$JPEGS'), train_per_class=800, val_per_class=1, image_size=400)" > "$OUT_DIR/data-jpegs.log" 2>&1 &
fi

step 02-benchmark_nst 150 $PY tools/benchmark_nst.py --device cuda --repeats 10
step 03-benchmark_pretrain_layer4 120 $PY tools/benchmark_pretrain.py --device cuda --taps layer4
step 04-benchmark_pretrain_layer3_layer4 120 $PY tools/benchmark_pretrain.py --device cuda --taps layer3 layer4
step 05-benchmark_det 150 $PY tools/benchmark_det.py --device cuda

wait  # the data
# 400 trainval images, batch 4: 100 iterations an epoch, 2 epochs, then a test on 50 images
TAIL_LINES=12 step 06-train_full_size 240 $PY tools/train_det.py configs/detection/demo/faster-rcnn_r18_fpn_ce-backbone_8e_demo.py \
    --work-dir "$OUT_DIR/train_full_size" --amp --cfg-options "data_root=$FULL_DATA/VOCdevkit/" \
    model.backbone.init_cfg=None train_cfg.max_epochs=2 default_hooks.logger.interval=10 \
    train_dataloader.num_workers=$WORKERS val_dataloader.num_workers=$WORKERS test_dataloader.num_workers=$WORKERS \
    'train_dataloader.dataset.pipeline.2.scale=(1333,800)' 'val_dataloader.dataset.pipeline.1.scale=(1333,800)' \
    'test_dataloader.dataset.pipeline.1.scale=(1333,800)'
selected 06 && $PY - "$OUT_DIR/train_full_size" <<'PYEOF'
import json, sys
from pathlib import Path
for scalars in sorted(Path(sys.argv[1]).glob("*/vis_data/scalars.json")):
    for line in scalars.read_text().splitlines():
        row = json.loads(line)
        if "loss" in row:
            print(f"iter {row['iter']:4d}  loss {row['loss']:.4f}  s/iter {row.get('time', 0):.3f}  "
                  f"data s/iter {row.get('data_time', 0):.3f}  MiB {row.get('memory', 0)}")
        elif any(key.startswith("pascal_voc") for key in row):
            print("val:", {k: v for k, v in row.items() if k.startswith("pascal_voc")})
PYEOF

step 07-benchmark_pretrain_end_to_end 200 $PY tools/benchmark_pretrain.py --device cuda --data "$JPEGS" \
    --workers "$WORKERS" --steps 5 --rounds 2 --compile
echo "logs in $OUT_DIR"
