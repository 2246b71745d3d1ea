"""Check the teacher before distilling from it: a teacher that silently did not load distils noise.

The config's top-level ``teacher_check`` sets it (``False`` skips the stop; a dict overrides the defaults):

* detection (:class:`TeacherCheckHook`): the teacher detector is evaluated once, before the first
  iteration, on the first ``max_images`` validation images (default 500; ``None``: all) with the config's
  ``val_evaluator``; its mAP is logged, and below ``min_map`` (default 0.01) the run stops in one line.
* ImageNet stage (:class:`~nst_det.engine.hooks.pretrain_hooks.TeacherAccuracyHook`, which already logs
  the teacher's top-1 on the whole val set): the run stops when the top-1 is near chance, within three
  binomial standard deviations (at least one point) of ``100 / num_classes`` %, or below ``min_top1`` if given.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from mmengine.dist import get_world_size
from mmengine.hooks import Hook

from nst_det.registry import HOOKS
from nst_det.utils.errors import NSTDetError
from nst_det.utils.weights import read_state_dict, resolve_checkpoint, unwrap_model

FEATURE_PREFIXES = ("backbone.", "neck.")  # the distiller loads these itself
DETECTION_DEFAULTS = dict(max_images=500, min_map=0.01)
CLASSIFIER_DEFAULTS = dict(min_top1=None)


def check_settings(cfg, defaults: dict) -> Optional[dict]:
    """``cfg.teacher_check`` merged over ``defaults``; ``None`` when the check is off (``teacher_check=False``)."""
    given = cfg.get("teacher_check", True)
    if given is False or given is None:
        return None
    if given is True:
        return dict(defaults)
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise NSTDetError(f"teacher_check: unknown key(s) {unknown}; known: {sorted(defaults)} (or False to skip)")
    return {**defaults, **given}


def chance_bound(num_classes: int, num_images: int) -> float:
    """Top-1 (%) below which a classifier is near chance: chance + max(1, 3 binomial standard deviations)."""
    chance = 1.0 / num_classes
    return 100.0 * (chance + max(0.01, 3.0 * math.sqrt(chance * (1.0 - chance) / max(num_images, 1))))


def check_top1(top1: float, num_classes: int, num_images: int, settings: Optional[dict]) -> None:
    """Stop (one line) when the ImageNet-stage teacher's ``top1`` (%) is near chance (see the module doc)."""
    if settings is None:
        return
    bound = settings["min_top1"] if settings["min_top1"] is not None else chance_bound(num_classes, num_images)
    if top1 < bound:
        raise NSTDetError(f"the teacher's top-1 on val is {top1:.2f} % over {num_images} images, below {bound:.2f} % "
                          f"(chance: {100.0 / num_classes:.2f} %): its checkpoint may not have loaded the weights "
                          "you meant (another model, class order or normalisation?). Set teacher_check=False to "
                          "distil from it anyway")


def _load_heads(teacher: torch.nn.Module, checkpoint) -> bool:
    """Load the teacher's head weights from its checkpoint (the distiller loads only backbone and neck).
    ``False`` when the file holds no head weights (nothing to evaluate with)."""
    state_dict = read_state_dict(checkpoint, what="teacher checkpoint")
    heads = {k: v for k, v in state_dict.items() if not k.startswith(FEATURE_PREFIXES)}
    expected = [k for k in teacher.state_dict() if not k.startswith(FEATURE_PREFIXES)]
    if not heads or any(k not in heads for k in expected if not k.endswith("num_batches_tracked")):
        return False
    teacher.load_state_dict({k: v for k, v in heads.items() if k in set(expected)}, strict=False)
    return True


@HOOKS.register_module()
class TeacherCheckHook(Hook):
    """Evaluate a distiller's teacher detector once before training; stop when its mAP is near zero.

    Runs when the model has a ``teacher`` and the config a validation loop, at the first ``before_train``
    of a run (not on resume). The teacher sees the student's preprocessed batches, as in distillation.
    """

    priority = "LOW"

    def before_train(self, runner) -> None:
        model = unwrap_model(runner.model)
        settings = check_settings(runner.cfg, DETECTION_DEFAULTS)
        teacher, teacher_cfg = getattr(model, "teacher", None), runner.cfg.model.get("teacher")
        if teacher is None or settings is None or runner.iter > 0 or runner.val_loop is None:
            return
        if not isinstance(teacher_cfg, dict) or not teacher_cfg.get("checkpoint"):
            runner.logger.info("teacher check skipped: the config names no teacher checkpoint (model.teacher)")
            return
        checkpoint = resolve_checkpoint(teacher_cfg["checkpoint"], what="teacher checkpoint")
        if not _load_heads(teacher, checkpoint):
            runner.logger.info(f"teacher check skipped: {checkpoint} holds no weights for the teacher's heads")
            return
        name, value, seen = self.evaluate(runner, model, settings["max_images"])
        runner.logger.info(f"teacher check: {name} {value:.4f} on {seen} val images ({checkpoint})")
        runner.message_hub.update_info("teacher_check", {name: value, "images": seen})
        if value < settings["min_map"]:
            raise NSTDetError(
                f"the teacher detector scores {name} {value:.4f} on {seen} val images, below {settings['min_map']}: "
                f"its checkpoint {checkpoint} may not fit its config (another dataset, class order or "
                "normalisation?). Set teacher_check=False to distil from it anyway")

    @staticmethod
    def evaluate(runner, model, max_images: Optional[int]) -> tuple[str, float, int]:
        """``(metric name, value, images seen)`` of the teacher on the first ``max_images`` val images."""
        dataloader = runner.val_loop.dataloader
        evaluator = runner.build_evaluator(runner.cfg.val_evaluator)
        evaluator.dataset_meta = dataloader.dataset.metainfo
        seen = 0
        for batch in dataloader:
            data = model.data_preprocessor(batch, False)
            inputs, samples = data["inputs"], data["data_samples"]
            outputs = model.run_teacher(lambda teacher, x=inputs, s=samples: teacher.predict(x, s))
            evaluator.process(data_samples=outputs, data_batch=data)
            seen += len(outputs)
            if max_images and seen * get_world_size() >= max_images:
                break
        metrics = evaluator.evaluate(seen * get_world_size())
        name = next((k for k in metrics if k.endswith("mAP")), None)
        if name is None:
            raise NSTDetError(f"teacher check: the val evaluator reports no mAP ({sorted(metrics)}); "
                              "set teacher_check=False")
        return name, float(metrics[name]), seen * get_world_size()
