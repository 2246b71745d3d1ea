"""How the first iterations of an FPN-distillation run are judged: detection losses against distillation terms.

Pure Python over what a run logs per iteration (``{'loss_cls': 0.52, 's0.loss_bbox': 0.1, 'loss_nst_p2': 3.1,
...}``). Shared by the sweep that chose the shipped settings (``tools/sweep_distill.py``: a run against the same
run with the distillation weighted 0) and by the guard that stops a collapsing run while it trains
(:class:`~nst_det.engine.hooks.DistillDivergenceHook`, which has no such baseline).

* Detection loss of an iteration: the sum of its ``loss`` terms that are not distillation terms (``loss_cls``,
  ``loss_bbox``, ``loss_rpn_*``, Cascade's ``s0.loss_cls`` ...; not the total ``loss``, not ``acc``).
* Distillation terms: the keys starting with ``loss_<name>_`` (``loss_nst_p2``, ``loss_mse_p3``).
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence, Union

Record = Mapping[str, float]  # one iteration's logged values
Prefix = Union[str, tuple[str, ...]]  # the distillation terms' key prefix, or one per loss kind


def distill_prefix(name: str) -> str:
    """``'nst'`` -> ``'loss_nst_'``: the start of every distillation term of a loss named ``name``."""
    return f"loss_{name}_"


def detection_loss(record: Record, prefix: Prefix) -> float:
    """The detection losses of one iteration, summed (distillation terms, ``loss`` and ``acc`` left out)."""
    return sum(value for key, value in record.items()
               if key != "loss" and "loss" in key and not key.startswith(prefix))


def distill_terms(record: Record, prefix: Prefix) -> dict[str, float]:
    """The distillation terms of one iteration (as logged: weighted, and scaled by the warm-up)."""
    return {key: value for key, value in record.items() if key.startswith(prefix)}


def trailing_mean(values: Sequence[float], window: int) -> list[float]:
    """``out[i]`` = mean of ``values[max(0, i - window + 1) .. i]``."""
    return [sum(values[max(0, i - window + 1):i + 1]) / (i + 1 - max(0, i - window + 1)) for i in range(len(values))]


def trailing_median(values: Sequence[float], window: int) -> list[float]:
    """``out[i]`` = median of ``values[max(0, i - window + 1) .. i]`` (one outlier batch in a window moves it
    little, a sustained rise fully)."""
    return [statistics.median(values[max(0, i - window + 1):i + 1]) for i in range(len(values))]


@dataclass(frozen=True)
class Comparison:
    """A run's detection losses against its baseline's (the same run, distillation weighted 0).

    ``ratios[i]``: trailing median (``window`` iterations) of the run's detection loss over the baseline's at
    iteration ``i + 1``; ``final`` the last, ``peak`` the largest from iteration ``window`` on. A run that
    stopped early, or logged a non-finite value, has ``final = peak = inf``. (Medians, not means: at 2 images
    per iteration a single batch can log 20x the loss of its neighbours, with or without distillation.)
    """

    ratios: tuple[float, ...]
    final: float
    peak: float


def compare(run: Sequence[float], baseline: Sequence[float], window: int = 5) -> Comparison:
    """:class:`Comparison` of the per-iteration detection losses ``run`` against ``baseline``."""
    if not run or not baseline:
        return Comparison((), math.inf, math.inf)
    steps = min(len(run), len(baseline))
    if len(run) < len(baseline) or not all(math.isfinite(v) for v in run):
        ours, theirs = trailing_mean(run[:steps], window), trailing_mean(baseline[:steps], window)
        return Comparison(tuple(a / b if b > 0 else math.inf for a, b in zip(ours, theirs)), math.inf, math.inf)
    ours, theirs = trailing_median(run[:steps], window), trailing_median(baseline[:steps], window)
    ratios = tuple(a / b if b > 0 else math.inf for a, b in zip(ours, theirs))
    judged = ratios[window - 1:] or ratios[-1:]
    return Comparison(ratios, ratios[-1], max(judged))


# ----------------------------------------------------------------------------- the guard's rule
@dataclass(frozen=True)
class DivergenceRule:
    """When a run is collapsing because of its distillation terms (no baseline needed).

    At iteration ``i`` (from ``window`` on), over the last ``window`` iterations, all three:

    * **the detection loss exploded**: its mean is at least ``factor`` times its value at iteration 1 (an
      untrained detector's loss; healthy training falls below it), or it is not finite;
    * **a distillation term grew**: its mean (finite values, warm-up scaling undone) is above ``growth``
      times its value at iteration 1;
    * **distillation carries weight**: the distillation terms as logged, summed, have a mean (finite values)
      of at least ``share`` times the detection loss at iteration 1 (a detector that diverges on its own,
      next to negligible distillation terms, is not blamed on them).

    A non-finite loss is also :class:`~nst_det.engine.hooks.NonFiniteLossHook`'s; where this rule holds at
    that iteration, the guard's line (which term, which weight, what to lower) is the one a user gets.
    The defaults come from ``tools/sweep_distill.py``'s runs (BENCHMARKS.md, "FPN distillation: the shipped
    settings"): ``factor`` 3 is the smallest of 1.5/2/3 that stops none of the runs the sweep judged stable, and it
    stops every run that went NaN or blew up, 1-4 iterations before the NaN (``share``, ``growth``: any of the
    values tried did as well).
    """

    factor: float = 3.0
    growth: float = 1.0
    share: float = 0.5
    window: int = 3


@dataclass(frozen=True)
class Divergence:
    """What the rule found: at ``iteration`` the term ``term`` (of the grown ones, the largest as logged)
    went from ``term_start`` to ``term_now`` (warm-up undone) while the detection loss went from
    ``detection_start`` to ``detection_now`` (both now: means over the rule's window; the detection loss's
    may be non-finite)."""

    iteration: int
    term: str
    term_start: float
    term_now: float
    detection_start: float
    detection_now: float


class DivergenceMonitor:
    """Apply a :class:`DivergenceRule` one iteration at a time.

    Args:
        rule: the thresholds.
        prefix: the distillation terms' key prefix (:func:`distill_prefix`), or one per loss kind.
    """

    def __init__(self, rule: DivergenceRule, prefix: Prefix) -> None:
        self.rule = rule
        self.prefix = prefix
        self.detection: list[float] = []
        self.raw: list[dict[str, float]] = []    # distillation terms, warm-up undone
        self.logged: list[dict[str, float]] = []  # distillation terms as logged

    def update(self, record: Record, warmup_scale: float = 1.0) -> Optional[Divergence]:
        """Add one iteration (``warmup_scale``: the factor the distiller's warm-up applied to its terms);
        returns a :class:`Divergence` when the rule holds at this iteration."""
        terms = distill_terms(record, self.prefix)
        self.detection.append(detection_loss(record, self.prefix))
        self.logged.append(terms)
        self.raw.append({k: v / warmup_scale for k, v in terms.items()} if warmup_scale > 0 else dict(terms))
        return self._check()

    def _check(self) -> Optional[Divergence]:
        rule, n = self.rule, len(self.detection)
        if n < rule.window or not self.raw[0]:
            return None
        recent = slice(n - rule.window, n)
        start, now = self.detection[0], _mean(self.detection[recent])
        if not (start > 0 and (not math.isfinite(now) or now >= rule.factor * start)):
            return None
        if _mean([sum(terms.values()) for terms in self.logged[recent]], finite=True) < rule.share * start:
            return None
        grown = {key: _mean([terms.get(key, math.nan) for terms in self.raw[recent]], finite=True)
                 for key in self.raw[0]}
        grown = {key: value for key, value in grown.items() if value > rule.growth * self.raw[0][key]}
        if not grown:
            return None
        logged = {key: _mean([terms.get(key, math.nan) for terms in self.logged[recent]], finite=True) for key in grown}
        term = max(grown, key=lambda key: logged[key])  # the largest as logged: weight included
        return Divergence(n, term, self.raw[0][term], grown[term], start, now)


def _mean(values: Sequence[float], finite: bool = False) -> float:
    """The mean of ``values`` (with ``finite``: of the finite ones; -inf when there are none)."""
    if finite:
        values = [v for v in values if math.isfinite(v)]
        if not values:
            return -math.inf
    return sum(values) / len(values)


def first_divergence(records: Sequence[Record], prefix: Prefix, rule: DivergenceRule = DivergenceRule(),
                     warmup_iters: int = 0) -> Optional[Divergence]:
    """The iteration at which :class:`DivergenceMonitor` would stop a run that logged ``records``
    (``warmup_iters``: the distiller's linear warm-up, ``min(1, i / warmup_iters)`` at iteration ``i``)."""
    monitor = DivergenceMonitor(rule, prefix)
    for index, record in enumerate(records, start=1):
        scale = min(1.0, index / warmup_iters) if warmup_iters else 1.0
        found = monitor.update(record, scale)
        if found is not None:
            return found
    return None
