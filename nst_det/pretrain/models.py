"""The distiller of the ImageNet stage: a student classifier trained from a frozen teacher.

Networks are torchvision classifiers by name (:mod:`nst_det.pretrain.classifiers`): the teacher any of
them, the student one with an MMDetection backbone to export to (:mod:`nst_det.pretrain.students`).
"""
from __future__ import annotations

from contextlib import nullcontext
from typing import Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import Tensor, nn

from nst_det.distill import FrozenTeacherMixin, distill_settings, refuse_renamed
from nst_det.distill.core import DistillCore, TapPair, pair_weights
from nst_det.pretrain.classifiers import build_classifier, load_classifier_weights
from nst_det.pretrain.students import student_backbone, student_spec
from nst_det.registry import MODELS
from nst_det.taps import FeatureTaps, TapSpec
from nst_det.utils.errors import InvalidInputError, NSTDetError


# ----------------------------------------------------------------------------- distiller
def tap_name(tap: Union[str, TapSpec]) -> str:
    """A tap's name in loss names: ``"layer4"`` -> ``"layer4"``; ``"layer4.1.relu:input"`` -> ``"layer4_1_relu_in"``."""
    spec = TapSpec.parse(tap)
    return spec.module.replace(".", "_") + ("_in" if spec.point == "input" else "")


PROBE_SIZE = 64  # side of the zero image that measures the tapped channel counts (every stride-32 net takes it)
# former ClassifierDistiller arguments -> their names in the shared vocabulary (nst_det/distill/settings.py)
RENAMED = {"taps": "distill.taps", "nst_loss": "distill.loss", "kd_loss": "distill.kd_loss"}


@MODELS.register_module()
class ClassifierDistiller(FrozenTeacherMixin, BaseModel):
    """Train a student classifier with CE + Σ feature losses(taps) [+ KD] from a frozen teacher.

    Args:
        student: ``dict(arch='resnet18', num_classes=K)``; ``arch`` one of
            :data:`~nst_det.pretrain.students.STUDENTS` (resnet18/34/50/101/152, mobilenet_v2).
        teacher: ``dict(arch='resnet101', num_classes=K_t, checkpoint=PATH)``, ``arch`` any torchvision
            classification model; ``None`` trains the student alone (the CE baseline, or a teacher from
            scratch). ``K_t`` may differ from ``K`` unless ``distill.kd_loss`` compares their logits.
        distill: the distillation settings (:mod:`nst_det.distill.settings`):

            * ``taps``: ``[(student_tap, teacher_tap), ...]`` — dotted module names, ``:input`` for a
              module's input (see :mod:`nst_det.taps`). Each pair adds ``loss_<kind>_<student tap>`` per
              feature loss (``loss_nst_layer4_1_relu_in``).
            * ``loss``: the feature loss config, or a list of them (AT+NST); default ``dict(type='NSTLoss')``
              (poly d=2, ``loss_weight=50``: the released code's); ``None``: no feature loss (KD only).
            * ``level_weights``: one weight per tap pair (a list, or ``{tap name: weight}``), default all 1.
            * ``adapt_channels``: 1×1 adapters where a loss compares channels one to one and widths differ.
            * ``kd_loss``: config of a ``KDLoss`` on logits, or ``None``.
            * ``warmup_iters``: ramp the distillation terms linearly in over this many iterations.

            The terms are computed by the one distillation core (:class:`~nst_det.distill.core.DistillCore`).
        channels_last: run both networks in channels-last memory format (faster convs on GPU).
        data_preprocessor: mmengine ``ImgDataPreprocessor`` config (normalisation on the device).
        **renamed: former argument names (``taps``, ``nst_loss``, ``kd_loss``): refused with one
            line naming the new one.

    The teacher is frozen by :class:`~nst_det.distill.FrozenTeacherMixin`: absent from ``state_dict()``,
    ``parameters()`` and DDP, in eval mode, run under ``no_grad``.
    """

    def __init__(self, student: dict, teacher: Optional[dict] = None, distill: Optional[dict] = None,
                 channels_last: bool = False, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None, **renamed) -> None:
        refuse_renamed("ClassifierDistiller", renamed, RENAMED)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        settings = distill_settings("ClassifierDistiller", distill)
        taps, kd_loss = settings["taps"] or (), settings["kd_loss"]
        student_spec(student["arch"], where="model.student")  # refuse a student that cannot be exported
        self.student = build_classifier(student["arch"], student["num_classes"])
        self.student_arch, self.num_classes = student["arch"], student["num_classes"]
        self.channels_last = channels_last
        self.teacher_cfg = dict(teacher) if teacher else None
        self.set_teacher(self._build_teacher(teacher) if teacher else None)
        if (taps or kd_loss) and self.teacher is None:
            raise NSTDetError("distill.taps and distill.kd_loss need a teacher; "
                              "set model.teacher=dict(arch=..., num_classes=..., checkpoint=...)")
        if teacher and not taps and not kd_loss:
            raise NSTDetError("a teacher is configured but neither distill.taps (feature losses) nor distill.kd_loss "
                              "uses it")
        if kd_loss and teacher["num_classes"] != self.num_classes:
            raise InvalidInputError(
                f"distill.kd_loss compares logits, but the teacher has {teacher['num_classes']} classes and the "
                f"student {self.num_classes}; give both the same num_classes or turn KD off (NST needs no classifier)")
        tap_pairs = [(TapSpec.parse(s), TapSpec.parse(t)) for s, t in taps]
        self.student_taps = FeatureTaps(self.student, [s for s, _ in tap_pairs]) if taps else None
        self.teacher_taps = FeatureTaps(self.teacher, [t for _, t in tap_pairs], detach=True) if taps else None
        names = [tap_name(s) for s, _ in tap_pairs]
        weights = pair_weights(names, settings["level_weights"], "ClassifierDistiller")
        pairs = [TapPair(str(s), str(t), name, w) for (s, t), name, w in zip(tap_pairs, names, weights)]
        self.distill_core = DistillCore("ClassifierDistiller", pairs, settings, channels=self._tap_channels)
        if channels_last:
            self.student.to(memory_format=torch.channels_last)

    @torch.no_grad()
    def _tap_channels(self) -> list[tuple[int, int]]:
        """``(student, teacher)`` channel counts of each tap pair, from one zero-image forward in eval mode."""
        image = torch.zeros(1, 3, PROBE_SIZE, PROBE_SIZE, device=next(self.student.parameters()).device)
        was_training = self.student.training
        self.student.eval()
        try:
            _, student = self._tapped(self.student, self.student_taps, image)
            _, teacher = self._tapped(self.teacher, self.teacher_taps, image)
        finally:
            self.student.train(was_training)
        return [(s.shape[1], t.shape[1]) for s, t in zip(student, teacher)]

    def _build_teacher(self, cfg: dict) -> nn.Module:
        unknown = sorted(set(cfg) - {"arch", "num_classes", "checkpoint"})
        if unknown:
            raise NSTDetError(f"model.teacher: unknown key(s) {unknown}; known: arch, num_classes, checkpoint")
        if not cfg.get("num_classes"):
            raise NSTDetError("model.teacher needs num_classes (the classifier head of its checkpoint)")
        model = build_classifier(cfg["arch"], cfg["num_classes"])
        if not cfg.get("checkpoint"):
            raise NSTDetError("model.teacher.checkpoint is not set: a teacher must be loaded from a file")
        load_classifier_weights(model, cfg["checkpoint"], cfg["arch"])
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        return model

    def _prepare(self, inputs: Tensor) -> Tensor:
        return inputs.contiguous(memory_format=torch.channels_last) if self.channels_last else inputs

    def forward(self, inputs: Tensor, data_samples: Optional[Tensor] = None, mode: str = "tensor"):
        """``inputs`` ``(B, 3, H, W)`` normalised images; ``data_samples`` ``(B,)`` class indices.

        Modes: ``"loss"`` -> dict of losses; ``"predict"`` -> list of per-image dicts with
        ``scores`` ``(K,)`` and ``gt_label``; ``"tensor"`` -> student logits ``(B, K)``.
        """
        inputs = self._prepare(inputs)
        if mode == "loss":
            return self.loss(inputs, data_samples)
        if mode == "predict":
            return self.predictions(self.student(inputs), data_samples)
        if mode == "tensor":
            return self.student(inputs)
        raise NSTDetError(f"unknown forward mode {mode!r}; choose one of 'loss', 'predict', 'tensor'")

    @staticmethod
    def predictions(logits: Tensor, labels: Optional[Tensor]) -> list[dict]:
        scores = logits.detach().float().softmax(1)
        return [dict(scores=s, gt_label=None if labels is None else labels[i]) for i, s in enumerate(scores)]

    def teacher_predict(self, inputs: Tensor, labels: Optional[Tensor] = None) -> list[dict]:
        """Teacher predictions in the ``"predict"`` format (for its one-off accuracy)."""
        return self.predictions(self.run_teacher(lambda teacher: teacher(self._prepare(inputs))), labels)

    @staticmethod
    def _tapped(network: nn.Module, taps: Optional[FeatureTaps], inputs: Tensor) -> tuple[Tensor, list[Tensor]]:
        """``(logits, tapped features)`` of one forward of ``network``."""
        with taps or nullcontext():
            return network(inputs), taps.pop_all() if taps else []

    def loss(self, inputs: Tensor, labels: Tensor) -> dict[str, Tensor]:
        """``loss_cls`` (cross-entropy) and the distillation core's terms (``loss_<kind>_<tap>``, ``loss_kd``)."""
        teacher_logits, teacher_features = None, []
        if self.teacher is not None:
            teacher_logits, teacher_features = self.run_teacher(lambda teacher: self._tapped(teacher, self.teacher_taps,
                                                                                             inputs))
        logits, student_features = self._tapped(self.student, self.student_taps, inputs)
        losses = {"loss_cls": F.cross_entropy(logits.float(), labels)}
        losses.update(self.distill_core(student_features, teacher_features,
                                        logits=(logits, teacher_logits) if teacher_logits is not None else None))
        return losses

    def network_names(self) -> tuple[str, Optional[str]]:
        """``(student, teacher)`` by name, for the run's record (``distill.json``)."""
        return self.student_arch, self.teacher_cfg["arch"] if self.teacher_cfg else None

    def backbone_state_dict(self) -> dict[str, Tensor]:
        """The student without its classifier head, in the key layout of its mmdet backbone."""
        return student_backbone(self.student.state_dict(), self.student_arch)

