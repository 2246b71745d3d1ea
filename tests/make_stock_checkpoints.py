"""Write checkpoints as stock mmengine/mmdet training writes them (run in a subprocess by the tests).

    python tests/make_stock_checkpoints.py VOC_DATA_ROOT OUT_DIR MARKER

Nothing of nst_det is imported or registered: this is what a user's own ``tools/train.py`` run leaves.

* ``OUT_DIR/runner/epoch_1.pth``: mmengine's ``Runner`` trains the demo R-34-FPN Faster R-CNN
  (``configs/detection/demo/faster-rcnn_r34_fpn_ce-backbone_8e_demo.py`` without nst_det's hooks, switches and custom
  imports) for one epoch of 2 iterations, and its ``CheckpointHook`` writes the file: message hub
  (``HistoryBuffer`` objects), optimizer, parameter schedulers, meta.
* ``OUT_DIR/numpy_meta.pth``: ``Runner.save_checkpoint`` of the same run with numpy scalars in ``meta``.
* ``OUT_DIR/r50_voc.pth``: mmdet's stock VOC Faster R-CNN R-50-FPN (``mmdet::pascal_voc/
  faster-rcnn_r50_fpn_1x_voc0712.py``, random weights) saved by mmengine's ``save_checkpoint`` with
  the run's message hub, optimizer and scheduler states and meta: the layout ``tools/train.py``
  writes for the teacher of ``configs/faster_rcnn_nst.py``.
* ``OUT_DIR/evil_nested.pth``: ``Runner.save_checkpoint`` after the message hub and ``meta`` were
  given an object whose unpickling would create ``MARKER`` (an otherwise valid stock checkpoint).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.runner.checkpoint import get_state_dict, save_checkpoint, weights_to_cpu

ROOT = Path(__file__).resolve().parents[1]


class CreatesMarker:
    """Unpickling this runs ``os.system('touch MARKER')``."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))

    def __deepcopy__(self, memo):  # mmengine's MessageHub deep-copies what it stores: stay inert there
        return self


def stock_config(data_root: str, work_dir: str) -> Config:
    cfg = Config.fromfile(str(ROOT / "configs/detection/demo/faster-rcnn_r34_fpn_ce-backbone_8e_demo.py"),
                          import_custom_modules=False)
    cfg.pop("custom_imports")
    cfg.custom_hooks = []
    cfg.model.backbone.init_cfg = None
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.data_root = data_root
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=1, val_interval=1)
    cfg.default_hooks.checkpoint = dict(type="CheckpointHook", interval=1)
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = work_dir
    return cfg


def main(data_root: str, out_dir: str, marker: str) -> None:
    out = Path(out_dir)
    runner = Runner.from_cfg(stock_config(data_root, str(out / "runner")))
    runner.train()
    runner.save_checkpoint(str(out), "numpy_meta.pth", meta=dict(best_score=np.float64(0.25), seed_np=np.int64(7)))

    init_default_scope("mmdet")
    teacher_cfg = get_config("mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py").model
    teacher_cfg.backbone.init_cfg = None
    from mmdet.registry import MODELS

    teacher = MODELS.build(teacher_cfg)
    checkpoint = dict(
        meta=dict(epoch=4, iter=8000, mmengine_version="0.10.7", seed=np.int64(0),
                  dataset_meta=dict(classes=("aeroplane", "bicycle")), best_score=np.float32(0.79)),
        state_dict=weights_to_cpu(get_state_dict(teacher)),
        message_hub=runner.message_hub.state_dict(),
        optimizer=runner.optim_wrapper.state_dict(),
        param_schedulers=[scheduler.state_dict() for scheduler in runner.param_schedulers])
    save_checkpoint(checkpoint, str(out / "r50_voc.pth"))

    runner.message_hub.update_info("injected", CreatesMarker(marker))
    runner.save_checkpoint(str(out), "evil_nested.pth", meta=dict(injected=CreatesMarker(marker)),
                           save_optimizer=False)


if __name__ == "__main__":
    main(*sys.argv[1:4])
