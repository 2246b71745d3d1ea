"""Hooks of the ImageNet stage: the teacher's accuracy once, and the backbone export at the end."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from nst_det.engine.hooks.teacher_check import CLASSIFIER_DEFAULTS, check_settings, check_top1
from nst_det.pretrain.export import export_backbone, save_with_sidecar
from nst_det.pretrain.metrics import TopKAccuracy
from nst_det.registry import HOOKS
from nst_det.sidecar import export_record
from nst_det.utils.weights import unwrap_model


@HOOKS.register_module()
class TeacherAccuracyHook(Hook):
    """Evaluate the frozen teacher on the val set once, before training, and log top-k; stop when its top-1 is
    near chance (:func:`~nst_det.engine.hooks.teacher_check.check_top1`; ``teacher_check=False`` skips the stop)."""

    priority = "LOW"

    def __init__(self, topk: tuple[int, ...] = (1, 5)) -> None:
        self.topk = topk

    def before_train(self, runner) -> None:
        model = unwrap_model(runner.model)
        if getattr(model, "teacher", None) is None or runner.val_loop is None:
            return
        if model.teacher_cfg["num_classes"] != model.num_classes:
            runner.logger.info(f"teacher accuracy not measured: the teacher has {model.teacher_cfg['num_classes']} "
                               f"classes, the student's val set {model.num_classes}")
            return
        metric = TopKAccuracy(topk=self.topk, prefix="teacher")
        dataloader = runner.val_dataloader
        for data in dataloader:
            data = model.data_preprocessor(data, False)
            metric.process(data, model.teacher_predict(data["inputs"], data["data_samples"]))
        results = metric.evaluate(len(dataloader.dataset))
        runner.logger.info("teacher accuracy on val: " + ", ".join(f"{k} {v:.2f}" for k, v in results.items()))
        runner.message_hub.update_info("teacher_accuracy", results)
        if "teacher/top1" in results:  # near chance: stop (teacher_check=False to go on; engine/hooks/teacher_check.py)
            check_top1(results["teacher/top1"], model.num_classes, len(dataloader.dataset),
                       check_settings(runner.cfg, CLASSIFIER_DEFAULTS))


@HOOKS.register_module()
class ExportBackboneHook(Hook):
    """Record the distillation setup in each checkpoint and export the student at the end.

    Writes ``backbone_<arch>.pth`` (no classifier, in the key layout of the student's mmdet backbone:
    :mod:`nst_det.pretrain.students`) and ``classifier_<arch>.pth``
    (the whole network in torchvision format; usable as a teacher), each with a ``.json`` sidecar.

    Args:
        filename: backbone export name inside the work dir; ``None`` uses ``backbone_<arch>.pth``.
    """

    priority = "NORMAL"

    def __init__(self, filename: Optional[str] = None) -> None:
        self.filename = filename
        self.last_metrics: dict = {}

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        self.last_metrics = dict(metrics or {})

    def record(self, runner) -> dict:
        """What the export sidecar says about the run (also stored in checkpoints' ``meta``; :mod:`nst_det.sidecar`)."""
        model = unwrap_model(runner.model)
        return export_record(model.student_arch, model.num_classes, model.teacher_cfg, model.distill_core.record(),
                             epochs=runner.epoch, iters=runner.iter, val=self.last_metrics,
                             teacher_val=runner.message_hub.get_info("teacher_accuracy"))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault("meta", {})["nst_det"] = self.record(runner)

    def after_train(self, runner) -> None:
        if not is_main_process():
            return
        model = unwrap_model(runner.model)
        out = Path(runner.work_dir) / (self.filename or f"backbone_{model.student_arch}.pth")
        record = self.record(runner)
        export_backbone(model.backbone_state_dict(), out, record)
        classifier = out.with_name(f"classifier_{model.student_arch}.pth")
        save_with_sidecar(model.student.state_dict(), classifier, record)
        runner.logger.info(f"exported the student backbone to {out} and the whole classifier to {classifier}")
