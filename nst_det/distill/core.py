"""The one distillation core both stages use: tap pairs, their weights, adapters, losses, loss names, warm-up.

The stage finds its pairs (ImageNet stage: named modules of the two classifiers; detection stage: FPN
levels by stride), runs the networks and hands the core one tensor per pair from each side::

    core = DistillCore("ClassifierDistiller", pairs, distill_settings("ClassifierDistiller", distill), channels)
    losses.update(core(student_feats, teacher_feats, logits=(student_logits, teacher_logits)))
    losses.update(core(student_feats, teacher_feats, region=crop))      # detection: valid regions only

What it owns:

* **losses**: ``settings['loss']`` (one config or a list) built from the registry; each logs
  ``loss_<kind>_<pair name>`` (:mod:`nst_det.distill.names`); ``settings['kd_loss']`` (ImageNet stage) logs
  ``loss_kd`` on the logits. ``loss=None`` is no feature loss; pairs without a feature loss are an error.
* **weights**: ``loss · pair weight · warm-up factor`` (``level_weights``: :func:`pair_weights`).
* **adapters**: a learnable 1×1 conv from the student's to the teacher's channels, on a pair where a loss
  compares channels one to one (``compares_channels``) and the widths differ (``adapt_channels=True``;
  otherwise a build error), or on every pair for a loss that ``needs_regressor`` (FitNet). The adapted
  features go to those losses only; NST and AT get the student's own. The adapters are the core's
  parameters: the optimizer trains them, and :class:`~nst_det.engine.hooks.DistillStateHook` keeps
  everything under :data:`CORE_ATTRIBUTE` out of ``checkpoint['state_dict']`` (the plain student).
* **warm-up**: factor ``min(1, (iter + 1) / warmup_iters)``; ``iter`` is the runner's (:attr:`DistillCore.iteration`,
  which :class:`~nst_det.engine.hooks.DistillStateHook` sets before every training iteration: resume-safe) or else
  the number of forward calls so far, counted only while a warm-up is configured (a changing attribute would make
  ``torch.compile`` retrace), in both stages. The core itself needs no mmengine.
* **the record** (:meth:`DistillCore.record`): kinds, weights and taps as built, for the report.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from torch import Tensor, nn

from nst_det.distill.names import loss_key, loss_kind
from nst_det.distill.settings import warmup_factor
from nst_det.registry import MODELS
from nst_det.utils.errors import NSTDetError

CORE_ATTRIBUTE = "distill_core"  # the distillers' attribute holding the core: the state_dict prefix of its state
RECORDED = ("loss_weight", "kernel", "degree", "constant", "temperature", "tau")  # hyper-parameters in the record

Region = Callable[[int, nn.Module, Tensor, Tensor], Tensor]
Channels = Callable[[], Sequence[tuple[int, int]]]


@dataclass(frozen=True)
class TapPair:
    """One (student tap, teacher tap) pair: the taps as configured, its name in loss names, its weight."""

    student: str
    teacher: str
    name: str
    weight: float = 1.0


def pair_weights(names: Sequence[str], weights: Union[None, Sequence[float], Mapping[str, float]],
                 owner: str = "distill") -> list[float]:
    """``level_weights`` resolved for the pairs ``names``: ``None`` (all 1), one per pair, or ``{name: weight}``
    (missing names 1)."""
    if weights is None:
        return [1.0] * len(names)
    if isinstance(weights, Mapping):
        unknown = sorted(set(weights) - set(names))
        if unknown:
            raise NSTDetError(f"{owner}: level_weights names {unknown}, which are not among the taps {list(names)}")
        return [float(weights.get(name, 1.0)) for name in names]
    values = [float(w) for w in weights]
    if len(values) != len(names):
        raise NSTDetError(f"{owner}: level_weights has {len(values)} values for {len(names)} taps {list(names)}")
    return values


def compares_channels(loss: nn.Module) -> bool:
    """Whether ``loss`` compares channel ``c`` with channel ``c`` (unknown losses, e.g. mmdet's ``MSELoss``: yes)."""
    return bool(getattr(loss, "compares_channels", True))


class DistillCore(nn.Module):
    """The distillation terms of one distiller (module docstring).

    Args:
        owner: the distiller's name, for messages.
        pairs: the tap pairs, in the order the stage passes their features.
        settings: :func:`~nst_det.distill.settings.distill_settings` output: ``loss``, ``adapt_channels``,
            ``warmup_iters`` and (ImageNet stage) ``kd_loss`` are read.
        channels: ``() -> [(student channels, teacher channels)]`` per pair; called only when a loss compares
            channels (the ImageNet stage measures them with a probe forward).
    """

    def __init__(self, owner: str, pairs: Sequence[TapPair], settings: Mapping[str, Any],
                 channels: Optional[Channels] = None) -> None:
        super().__init__()
        self.owner = owner
        self.pairs = list(pairs)
        self.warmup_iters = int(settings.get("warmup_iters", 0))
        self.iteration: Optional[int] = None  # the runner's, set by the engine before each training iteration
        self._calls = 0
        configs = settings.get("loss")
        configs = [] if configs is None else list(configs) if isinstance(configs, (list, tuple)) else [configs]
        if self.pairs and not configs:
            raise NSTDetError(f"{owner}: distill.loss=None means no feature loss, but there are taps to distil "
                              f"({', '.join(p.name for p in self.pairs)}); name a loss (omit `loss` for NSTLoss's "
                              "defaults) or set distill.taps=[]")
        self.losses = nn.ModuleList([self._build(cfg) for cfg in configs] if self.pairs else [])
        self.kinds = [loss_kind(type(loss).__name__) for loss in self.losses]
        if len(set(self.kinds)) != len(self.kinds):
            raise NSTDetError(f"{owner}: distill.loss names one kind twice ({self.kinds}); their loss names would "
                              "collide")
        kd_cfg = settings.get("kd_loss")
        self.kd_loss = self._build(kd_cfg) if kd_cfg else None
        self.adapters = nn.ModuleDict(self._adapters(bool(settings.get("adapt_channels")), channels))

    def _build(self, cfg: Mapping[str, Any]) -> nn.Module:
        loss = MODELS.build(dict(cfg))
        if getattr(loss, "reduction", "mean") != "mean":
            raise NSTDetError(f"{self.owner}: distillation losses must average over the batch "
                              f"(reduction='mean'), got {type(loss).__name__} reduction={loss.reduction!r}")
        return loss

    def _adapters(self, adapt: bool, channels: Optional[Channels]) -> dict[str, nn.Module]:
        regressor = any(getattr(loss, "needs_regressor", False) for loss in self.losses)
        if not regressor and not any(compares_channels(loss) for loss in self.losses):
            return {}
        if channels is None:
            raise NSTDetError(f"{self.owner}: a loss compares channels, but the stage gave no channel counts")
        widths = list(channels())
        adapters = {}
        for pair, (cs, ct) in zip(self.pairs, widths):
            if regressor or (cs != ct and adapt):
                adapters[pair.name] = nn.Conv2d(cs, ct, kernel_size=1)
            elif cs != ct:
                raise NSTDetError(f"{self.owner}: tap {pair.name} has {cs} student and {ct} teacher channels and "
                                  f"{'/'.join(self.kinds)} compares channels one to one; set "
                                  "distill.adapt_channels=True (a learnt 1x1 conv) or use NST/AT")
        return adapters

    # ------------------------------------------------------------------ the terms
    def warmup_factor(self) -> float:
        """:func:`~nst_det.distill.settings.warmup_factor` at the runner's iteration (module docstring)."""
        if not self.warmup_iters:
            return 1.0
        return warmup_factor(self.warmup_iters, self._calls if self.iteration is None else self.iteration)

    def forward(self, student: Sequence[Tensor], teacher: Sequence[Tensor], *, region: Optional[Region] = None,
                logits: Optional[tuple[Tensor, Tensor]] = None) -> dict[str, Tensor]:
        """The weighted distillation losses.

        Args:
            student: one feature map per pair, ``(B, Cs, H, W)``, with gradients.
            teacher: one feature map per pair, ``(B, Ct, H, W)``, without.
            region: the stage's hook around each loss call, ``region(pair index, loss, s, t) -> scalar``
                (detection: the loss over each image's valid region); default ``loss(s, t)``.
            logits: ``(student (B, K), teacher (B, K))`` for ``kd_loss``.

        Returns:
            ``{loss_<kind>_<pair>: value}`` for every pair and feature loss, and ``loss_kd``.
        """
        factor = self.warmup_factor()
        losses: dict[str, Tensor] = {}
        for index, (pair, s_feat, t_feat) in enumerate(zip(self.pairs, student, teacher)):
            adapted = self.adapters[pair.name](s_feat) if pair.name in self.adapters else s_feat
            for kind, loss in zip(self.kinds, self.losses):
                s = adapted if compares_channels(loss) else s_feat
                value = region(index, loss, s, t_feat) if region is not None else loss(s, t_feat)
                losses[loss_key(kind, pair.name)] = value * (pair.weight * factor)
        if self.kd_loss is not None and logits is not None:
            losses["loss_kd"] = self.kd_loss(*logits) * factor
        if self.warmup_iters:
            self._calls += 1
        return losses

    # ------------------------------------------------------------------ what it is
    def record(self) -> dict:
        """The built setup as plain data (the report's source): losses with their hyper-parameters, KD, the
        pairs with weights, warm-up, adapters."""
        return dict(losses=[_describe(kind, loss) for kind, loss in zip(self.kinds, self.losses)],
                    kd=_describe("kd", self.kd_loss) if self.kd_loss is not None else None,
                    taps=[dict(student=p.student, teacher=p.teacher, name=p.name, weight=p.weight)
                          for p in self.pairs] if self.losses else [],
                    warmup_iters=self.warmup_iters, adapters=sorted(self.adapters))

    def describe(self) -> str:
        """One line: ``loss_nst (weight 50) on p2 (1), p3 (1); kd (T 4, weight 1)``."""
        taps = ", ".join(f"{p.name} ({p.weight:g})" for p in self.pairs)
        parts = [f"loss_{kind} (weight {getattr(loss, 'loss_weight', '?')}) on {taps}"
                 for kind, loss in zip(self.kinds, self.losses)]
        if self.kd_loss is not None:
            parts.append(f"loss_kd (T {getattr(self.kd_loss, 'temperature', '?')}, "
                         f"weight {getattr(self.kd_loss, 'loss_weight', '?')})")
        return "; ".join(parts) or "no distillation"

    def extra_repr(self) -> str:
        return f"{self.describe()}, warmup_iters={self.warmup_iters}"


def _describe(kind: str, loss: nn.Module) -> dict:
    values = {**getattr(loss, "mmd_kwargs", {}), **vars(loss)}
    return dict(kind=kind, type=type(loss).__name__,
                **{k: values[k] for k in RECORDED if isinstance(values.get(k), (int, float, str))})
