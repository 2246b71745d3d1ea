"""``NSTDistillDetector``: any mmdet detector trained with feature distillation from a frozen
teacher's FPN: NST (the default), or another per-level loss (MSE, PKD, CWD, FitNet, AT).

    model = dict(
        type='NSTDistillDetector',
        student=dict(type='FasterRCNN', ...),                   # any mmdet detector config
        teacher=dict(config='configs/detection/demo/faster-rcnn_r34_fpn_ce-backbone_8e_demo.py',  # or 'mmdet::...'
                     checkpoint='work_dirs/faster-rcnn_r34_fpn_ce-backbone_8e_demo'),  # a file, or a work dir
        distill=dict(taps=('p2', 'p3', 'p4', 'p5'), level_weights=None, warmup_iters=100,
                     loss=dict(type='NSTLoss')))   # NSTLoss's defaults: poly d=2, c=0, weight 50

The argument names are the ImageNet stage's (:mod:`nst_det.distill.settings`).

How it is put together:

* The student detector is built and its submodules (``backbone``, ``neck``, heads,
  ``data_preprocessor``) become the distiller's own children under the same names, so
  ``state_dict()``, ``parameters()`` and DDP see exactly the plain student: a checkpoint loads into
  the student config with ``strict=True`` and no key edits. The student object itself is held as a
  plain attribute; its methods (``loss``, ``predict``) run on those shared submodules.
* The teacher is held by :class:`~nst_det.distill.FrozenTeacherMixin` (the ImageNet stage's mechanism
  too): a plain attribute, frozen, always in eval mode, run under ``no_grad``, absent from
  ``state_dict()``/``parameters()``/DDP, and moved with the distiller (``.to()``, ``.cuda()``, ``.half()``).
* The teacher receives the batch the student's data preprocessor produced; both must normalise
  alike (checked at build time).
* Forward hooks (:class:`~nst_det.taps.FeatureTaps`) on both necks capture the FPN levels of the
  student's own training forward and of the teacher's ``extract_feat``; :meth:`loss` hands them to the
  distillation core (:class:`~nst_det.distill.core.DistillCore`, the ImageNet stage's too), which adds
  ``loss_<kind>_<level>`` per distilled level (``loss_nst_p2``, ``loss_mse_p2``, ...). Level strides
  are measured at build time and must be equal for teacher and student, so a mismatch is a build
  error rather than a shape error later.
* Each image's loss covers its own valid region only (:mod:`nst_det.det.regions`): the padding
  batching adds is cropped away at every level.
* ``adapt_channels=True`` adds (in the core) a learnable 1×1 conv per level whose channel counts
  differ, for losses that compare channels one to one (MSE, PKD, CWD; FitNet always has its regressor;
  NST and AT need none). The adapters are parameters of the distiller (the optimizer trains them);
  :class:`~nst_det.engine.hooks.DistillStateHook` keeps the core's state out of
  ``checkpoint['state_dict']`` (which stays the plain student) and restores it on resume.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

from mmdet.models.detectors.base import BaseDetector
from mmdet.structures import SampleList
from mmengine.logging import print_log
from torch import Tensor, nn

from nst_det.det.levels import check_same_levels, measure_levels, select_levels
from nst_det.det.regions import valid_region_loss, valid_sizes
from nst_det.det.teacher import build_teacher, check_same_preprocessing
from nst_det.distill import FrozenTeacherMixin, distill_settings, refuse_renamed
from nst_det.distill.core import DistillCore, TapPair
from nst_det.registry import MODELS
from nst_det.taps import FeatureTaps
from nst_det.utils.checkpoint import PathLike
from nst_det.utils.errors import NSTDetError

# former names -> their names in the shared vocabulary (nst_det/distill/settings.py)
RENAMED = {"teacher_cfg": "teacher.config", "teacher_ckpt": "teacher.checkpoint", "nst": "distill"}
RENAMED_DISTILL = {"levels": "taps", "student_tap": "student_module", "teacher_tap": "teacher_module"}


def teacher_parts(teacher: dict) -> tuple[Union[PathLike, dict], PathLike]:
    """``(config, checkpoint)`` of ``teacher=dict(config=..., checkpoint=...)``."""
    if not isinstance(teacher, dict) or set(teacher) != {"config", "checkpoint"}:
        got = sorted(teacher) if isinstance(teacher, dict) else type(teacher).__name__
        raise NSTDetError(f"NSTDistillDetector: teacher must be dict(config=..., checkpoint=...), got {got}")
    return teacher["config"], teacher["checkpoint"]


def student_only(cfg) -> bool:
    """Replace a distiller config's model by its student, in place: ``tools/test_det.py`` and ``tools/infer_det.py``
    test and run the student alone (its checkpoints hold the plain student; the teacher is never built or loaded).

    Returns:
        Whether ``cfg.model`` was an ``NSTDistillDetector``.
    """
    if cfg.model.get("type") != "NSTDistillDetector":
        return False
    cfg.model = cfg.model.student
    return True


def detector_name(detector: nn.Module) -> str:
    """``'FasterRCNN (ResNet-18)'``: the detector's type and its backbone's (with the depth, where it has one)."""
    backbone = getattr(detector, "backbone", None)
    if backbone is None:
        return type(detector).__name__
    depth = getattr(backbone, "depth", None)
    return f"{type(detector).__name__} ({type(backbone).__name__}{f'-{depth}' if depth else ''})"


@MODELS.register_module()
class NSTDistillDetector(FrozenTeacherMixin, BaseDetector):
    """A detector distilled from a frozen teacher on its FPN levels (NST by default).

    Args:
        student: config of the detector to train (any mmdet detector with ``extract_feat``).
        teacher: ``dict(config=..., checkpoint=...)``: the teacher detector's config (a path,
            ``mmdet::`` package paths allowed, a config dict with ``model``, or a model dict) and its
            checkpoint (a file or a training work dir); its backbone and neck weights must match exactly.
        distill: distillation settings (the ImageNet stage's vocabulary, :mod:`nst_det.distill.settings`):

            * ``taps``: level names (``'p2'`` .. ``'p6'`` for strides 4 .. 64) or indices into the
              tapped tuple; default all levels.
            * ``level_weights``: one weight per level, ``{name: weight}``, or ``None`` (all 1).
            * ``loss``: the per-level loss config (or a list), default ``dict(type='NSTLoss')`` (poly d=2,
              ``loss_weight=50``: the ImageNet stage's default too); any loss called as
              ``loss(student, teacher)`` that averages over the batch: mmdet's ``MSELoss``, ``PKDLoss``,
              ``CWDLoss``, ``FitNetLoss``, ``ATLoss``. ``None`` is refused (no feature loss: nothing to distil).
              Logged as ``loss_<kind>_<level>`` (``NSTLoss`` -> ``loss_nst_p2``, ``MSELoss`` -> ``loss_mse_p2``).
            * ``warmup_iters``: ramp the distillation losses linearly from ~0 to full over this many
              iterations (0: no ramp). The iteration is the runner's (resume-safe).
            * ``adapt_channels``: a learnable 1×1 conv from the student's to the teacher's channels
              on each level where they differ, for losses that compare channels one to one.
            * ``student_module`` / ``teacher_module``: the modules whose output tuples are the levels
              (default ``'neck'``).

            The terms are computed by the one distillation core (:class:`~nst_det.distill.core.DistillCore`),
            each level's loss over each image's valid region (:mod:`nst_det.det.regions`).
        init_cfg: the distiller's own init config (normally ``None``).
        **renamed: former argument names (``teacher_cfg``, ``teacher_ckpt``, ``nst``; in ``distill``:
            ``levels``, ``student_tap``, ``teacher_tap``): refused with one line naming the new one.
    """

    def __init__(self, student: dict, teacher: dict, distill: Optional[dict] = None,
                 init_cfg: Optional[dict] = None, **renamed) -> None:
        refuse_renamed("NSTDistillDetector", renamed, RENAMED)
        distill = distill_settings("NSTDistillDetector", distill, RENAMED_DISTILL)
        teacher_config, teacher_ckpt = teacher_parts(teacher)
        student_model = MODELS.build(student)
        super().__init__(data_preprocessor=student_model.data_preprocessor, init_cfg=init_cfg)
        object.__setattr__(self, "student", student_model)  # a plain attribute: its children are ours (below)
        for name, child in student_model.named_children():
            self.add_module(name, child)
        self.set_teacher(build_teacher(teacher_config, teacher_ckpt))
        check_same_preprocessing(self.student, self.teacher)

        self.student_tap, self.teacher_tap = distill["student_module"], distill["teacher_module"]
        student_levels = measure_levels(self.student, self.student_tap)
        teacher_levels = measure_levels(self.teacher, self.teacher_tap)
        check_same_levels(student_levels, teacher_levels, self.student_tap)
        self.levels = select_levels(student_levels, distill["taps"], distill["level_weights"])
        pairs = [TapPair(level.name, level.name, level.name, weight) for level, weight in self.levels]
        widths = [(level.channels, teacher_levels[level.index].channels) for level, _ in self.levels]
        self.distill_core = DistillCore("NSTDistillDetector", pairs, distill, channels=lambda: widths)
        core = self.distill_core
        print_log(f"NSTDistillDetector: {type(self.student).__name__} student, {type(self.teacher).__name__} teacher "
                  f"from {teacher_ckpt}; {'/'.join(f'loss_{kind}' for kind in core.kinds)} on "
                  + ", ".join(f"{lv.name} (stride {lv.stride}, weight {w:g})" for lv, w in self.levels) + " ("
                  + ", ".join(f"{type(loss).__name__} loss_weight {getattr(loss, 'loss_weight', '?')}"
                              for loss in core.losses) + ")", logger="current")

    def train(self, mode: bool = True) -> "NSTDistillDetector":
        """Set the student's mode (the teacher stays in eval mode: :class:`FrozenTeacherMixin`)."""
        super().train(mode)
        self.student.training = mode  # its submodules were set above; they are the distiller's
        return self

    # ------------------------------------------------------------------ forward modes
    def extract_feat(self, batch_inputs: Tensor) -> tuple[Tensor, ...]:
        """The student's features, ``(B, 3, H, W)`` -> tuple of ``(B, C, H/s, W/s)``."""
        return self.student.extract_feat(batch_inputs)

    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> dict[str, Tensor]:
        """The student's losses plus the core's ``loss_<kind>_<level>`` for each distilled level.

        Args:
            batch_inputs: ``(B, 3, H, W)``, preprocessed by the student's data preprocessor.
            batch_data_samples: the batch's ``DetDataSample`` list; each ``img_shape`` bounds the
                image's valid region.
        """
        with FeatureTaps(self.student, [self.student_tap], keep_tuple=True) as student_taps:
            losses = self.student.loss(batch_inputs, batch_data_samples)
            student_feats = student_taps[self.student_tap]
        teacher_feats = self.teacher_features(batch_inputs)
        img_shapes = [sample.metainfo["img_shape"] for sample in batch_data_samples]
        strides = [level.stride for level, _ in self.levels]

        def valid_regions(index: int, loss: nn.Module, student_feat: Tensor, teacher_feat: Tensor) -> Tensor:
            sizes = valid_sizes(img_shapes, strides[index], tuple(student_feat.shape[-2:]))
            return valid_region_loss(loss, student_feat, teacher_feat, sizes)

        losses.update(self.distill_core([student_feats[level.index] for level, _ in self.levels],
                                        [teacher_feats[level.index] for level, _ in self.levels],
                                        region=valid_regions))
        return losses

    def teacher_features(self, batch_inputs: Tensor) -> Sequence[Tensor]:
        """The teacher's tapped levels for ``batch_inputs``, computed without autograd."""
        def tapped(teacher: nn.Module) -> Sequence[Tensor]:
            with FeatureTaps(teacher, [self.teacher_tap], detach=True, keep_tuple=True) as teacher_taps:
                teacher.extract_feat(batch_inputs)
                return teacher_taps[self.teacher_tap]
        return self.run_teacher(tapped)

    def network_names(self) -> tuple[str, str]:
        """``(student, teacher)`` by name, for the run's record (``distill.json``): ``'FasterRCNN (ResNet-18)'``."""
        return detector_name(self.student), detector_name(self.teacher)

    def predict(self, batch_inputs: Tensor, batch_data_samples: SampleList, rescale: bool = True) -> SampleList:
        """The student's predictions alone."""
        return self.student.predict(batch_inputs, batch_data_samples, rescale=rescale)

    def _forward(self, batch_inputs: Tensor, batch_data_samples: Optional[SampleList] = None):
        """The student's raw head outputs (``mode='tensor'``)."""
        return self.student._forward(batch_inputs, batch_data_samples)

    def extra_repr(self) -> str:
        return f"teacher={type(self.teacher).__name__} (frozen, not a submodule)"
