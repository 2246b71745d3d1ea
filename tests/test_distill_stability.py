"""The stability measures of FPN distillation (nst_det/det/stability.py) and the guard that stops a collapsing run
(DistillDivergenceHook), on synthetic loss sequences shaped like the runs the sweep recorded."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub

from nst_det.det.stability import (
    DivergenceMonitor,
    DivergenceRule,
    compare,
    detection_loss,
    distill_terms,
    first_divergence,
    trailing_mean,
)
from nst_det.distill import distill_settings
from nst_det.distill.core import DistillCore, TapPair, pair_weights
from nst_det.engine.hooks import DistillDivergenceHook
from nst_det.utils.errors import NSTDetError

from det_fixtures import ROOT

PREFIX = "loss_nst_"


def records(cls, nst, **extra):
    """Per-iteration logged values: Faster R-CNN's detection terms and NST on P2 (and P3 at half of it)."""
    return [dict(loss=0.0, loss_rpn_cls=0.5, loss_cls=c, acc=90.0, loss_bbox=0.1, loss_nst_p2=n, loss_nst_p3=n / 2,
                 **{k: v[i] for k, v in extra.items()}) for i, (c, n) in enumerate(zip(cls, nst))]


# shaped like the issue's run (configs/faster_rcnn_nst.py, random R-50 teacher, weight 50 per level, no warm-up):
# loss_cls 3.61 -> 11.85 and on, the NST terms growing with it
COLLAPSE = records([3.61, 6.0, 11.85, 14.0, 16.0, 20.0], [4.58, 5.5, 7.0, 7.5, 7.79, 8.0])
HEALTHY = records([2.9, 1.8, 1.1, 0.4, 0.7, 0.6, 0.5], [3.5, 3.4, 3.0, 2.5, 2.4, 2.2, 2.0])
# recorded by tools/sweep_distill.py: the shipped Faster R-CNN VOC config before the sweep (NST weight 50 per level,
# no warm-up), random R-50 teacher and R-18 backbone, seed 0: (RPN cls, RPN bbox, cls, bbox) and NST on P2-P5
RECORDED = [
    ((0.713, 0.1136, 2.7932, 0.086), (3.3239, 1.9481, 1.2066, 1.0983)),
    ((0.6352, 0.0352, 1.279, 0.0196), (4.2569, 2.8676, 2.1617, 1.2423)),
    ((0.4829, 0.0157, 1.0675, 0.0634), (4.1652, 3.0767, 2.6494, 1.5555)),
    ((0.3684, 0.065, 0.9319, 0.0396), (4.867, 3.6244, 2.5047, 1.7953)),
    ((0.2718, 0.0547, 1.5281, 0.0362), (6.6292, 5.5625, 4.5307, 4.2423)),
    ((0.3196, 0.1553, 7.0892, 0.2314), (10.5642, 8.6389, 5.8195, 3.6662)),
    ((0.211, 0.07, 0.2026, 0.0344), (8.4541, 5.3116, 4.9032, 2.8737)),
    ((0.4748, 0.16, 0.2648, 0.0388), (9.1892, 6.5519, 4.373, 3.1006)),
    ((0.1933, 0.0966, 0.4088, 0.124), (8.8317, 5.8584, 6.883, 3.4381)),
    ((0.1693, 0.0445, 0.9584, 0.2073), (6.5455, 5.7593, 5.2657, 2.7899)),
    ((0.2261, 0.2005, 0.7253, 0.1644), (12.0525, 8.7674, 4.9248, 3.6998)),
    ((0.6084, 0.7147, 2.5859, 0.8212), (6.0731, 4.3658, 4.5427, 2.634)),
    ((0.3653, 0.8113, 333.9082, 3.3533), (6.4, 4.9368, 4.434, 2.0258)),
    ((25.3145, 24.3251, 182166.2344, 1926.546), (16.305, 14.1336, 10.7862, 6.8464)),
    ((math.nan,) * 4, (math.nan,) * 4),  # NonFiniteLossHook: "loss is nan at iteration 15"
]
RECORDED = [dict(zip(("loss_rpn_cls", "loss_rpn_bbox", "loss_cls", "loss_bbox"), det),
                 **{f"loss_nst_p{i}": v for i, v in zip(range(2, 6), nst)}) for det, nst in RECORDED]


def test_detection_loss_sums_the_detection_terms_only():
    record = {"loss": 9.0, "loss_rpn_cls": 0.5, "s0.loss_cls": 1.0, "s1.loss_bbox": 0.25, "s0.acc": 90.0,
              "loss_nst_p2": 3.0, "loss_mse_p3": 2.0}
    assert detection_loss(record, PREFIX) == 0.5 + 1.0 + 0.25 + 2.0  # an MSE term is not NST's
    assert detection_loss(record, "loss_mse_") == 0.5 + 1.0 + 0.25 + 3.0
    assert distill_terms(record, PREFIX) == {"loss_nst_p2": 3.0}
    assert trailing_mean([1.0, 3.0, 5.0, 7.0], 2) == [1.0, 2.0, 4.0, 6.0]


def test_compare_against_the_baseline():
    base = [3.0, 2.0, 1.5, 1.0, 1.0, 0.8]
    same = compare(base, base)
    assert same.final == same.peak == 1.0 and len(same.ratios) == 6
    twice = compare([v * 2 for v in base], base)
    assert twice.final == pytest.approx(2.0) and twice.peak == pytest.approx(2.0)
    # a run that stopped early, or logged a non-finite loss, never counts as within any bound
    assert compare(base[:3], base).final == math.inf
    assert compare(base[:5] + [math.nan], base).peak == math.inf
    assert compare([], base).final == math.inf


def test_the_rule_stops_the_issues_collapse_and_names_the_largest_term():
    found = first_divergence(COLLAPSE, PREFIX)
    assert found is not None and found.term == "loss_nst_p2"
    # iteration 5: the detection loss of iterations 3-5 averages 14.55, 3.5x iteration 1's 4.21 (iteration 4:
    # 11.2, 2.7x); the NST terms grew with it
    assert found.iteration == 5
    assert found.detection_start == pytest.approx(4.21) and found.detection_now == pytest.approx(14.55)
    assert found.term_start == 4.58 and found.term_now == pytest.approx((7.0 + 7.5 + 7.79) / 3)


def test_the_rule_stops_a_recorded_collapse_before_its_nan():
    found = first_divergence(RECORDED, PREFIX)
    assert found is not None and (found.iteration, found.term) == (13, "loss_nst_p2")  # the NaN came at 15
    assert first_divergence(RECORDED, PREFIX, DivergenceRule(factor=2.0)).iteration == 13
    # the thresholds the hook uses are the rule's defaults
    assert (DistillDivergenceHook().rule.factor, DivergenceRule().factor) == (3.0, 3.0)


def test_a_non_finite_loss_after_growing_distillation_is_the_distillations():
    # MSE weight 5 from a random teacher: the terms explode, then the losses are NaN at iteration 3
    sequence = records([2.9, 1500.0, math.nan], [80.0, 5e6, math.nan])
    found = first_divergence(sequence, PREFIX)
    assert found is not None and found.iteration == 3 and math.isnan(found.detection_now)
    assert found.term == "loss_nst_p2" and found.term_now == pytest.approx((80.0 + 5e6) / 2)
    # a NaN the distillation did not lead up to (its terms fell) is left to NonFiniteLossHook
    assert first_divergence(records([2.9, 1.5, math.nan], [8.0, 5.0, math.nan]), PREFIX) is None


def test_the_rule_leaves_healthy_runs_alone():
    assert first_divergence(HEALTHY, PREFIX) is None
    # early detection losses that rise a little (RPN positives appear) are no explosion
    assert first_divergence(records([2.0, 2.6, 3.1, 3.0, 2.9], [3.0, 3.2, 3.5, 3.6, 3.6]), PREFIX) is None


def test_an_exploding_detector_is_not_blamed_on_shrinking_or_negligible_distillation():
    # the detection losses explode, but the distillation terms fall: not the distillation's doing
    assert first_divergence(records([3.6, 8.0, 15.0, 18.0, 20.0], [4.5, 3.0, 2.0, 1.5, 1.0]), PREFIX) is None
    # ... or they grow but carry almost no weight (FCOS without its clipping, at lr 0.01)
    tiny = records([1.2, 4.7, 5.6, 13.5, 22.0, 14.0], [1e-4, 1e-3, 2e-3, 3e-3, 5e-3, 9e-3])  # det from 1.8
    assert first_divergence(tiny, PREFIX) is None
    assert first_divergence(tiny, PREFIX, DivergenceRule(share=0.0)) is not None


def test_a_warm_up_ramp_is_not_growth():
    # the logged terms ramp up with the warm-up (raw value constant): undone before comparing
    ramp = [dict(r, loss_nst_p2=4.0 * i / 6, loss_nst_p3=2.0 * i / 6) for i, r in enumerate(COLLAPSE, start=1)]
    assert first_divergence(ramp, PREFIX, warmup_iters=6) is None
    assert first_divergence(ramp, PREFIX) is not None  # read as logged, the ramp looks like growth


def test_the_monitor_needs_more_than_a_window_of_iterations():
    monitor = DivergenceMonitor(DivergenceRule(window=3), PREFIX)
    assert [monitor.update(r) for r in COLLAPSE[:4]] == [None] * 4
    assert monitor.update(COLLAPSE[4]) is not None
    assert first_divergence(COLLAPSE[:2] + [dict(COLLAPSE[2], loss_cls=1e6)], PREFIX, DivergenceRule(window=4)) is None


# ----------------------------------------------------------------------------- the hook
def fake_runner(distill: dict, model_type: str = "NSTDistillDetector"):
    """A runner whose model carries the distillation core ``distill`` builds (the hook reads the built core)."""
    settings = distill_settings("NSTDistillDetector", distill)
    weights = pair_weights(settings["taps"], settings["level_weights"])
    pairs = [TapPair(tap, tap, tap, weight) for tap, weight in zip(settings["taps"], weights)]
    model = type(model_type, (torch.nn.Module,), {})()
    model.distill_core = DistillCore("NSTDistillDetector", pairs, settings)
    return SimpleNamespace(model=model, iter=0)


def train(hook: DistillDivergenceHook, runner, sequence) -> int:
    """Feed ``sequence`` to the hook as a training loop would; returns the iterations it let through."""
    hook.before_train(runner)
    for index, record in enumerate(sequence):
        runner.iter = index
        MessageHub.get_current_instance().update_info("iter", index)
        hook.after_train_iter(runner, index, outputs=record)
    return len(sequence)


DISTILL = dict(taps=("p2", "p3", "p4", "p5"), warmup_iters=0,
               loss=dict(type="NSTLoss", kernel="poly", degree=2, constant=0.0, loss_weight=50.0))


def test_the_hook_stops_a_collapsing_run_with_one_line():
    with pytest.raises(NSTDetError) as error:
        train(DistillDivergenceHook(), fake_runner(DISTILL), COLLAPSE)
    assert str(error.value) == (
        "loss_nst_p2 (weight 50) grew from 4.58 to 7.43 while the detection losses rose from 4.21 to 14.5 (3.5x) "
        "by iteration 5: the distillation is collapsing the detector (a teacher that failed to train or load does "
        "this too); training stopped. Lower model.distill.loss.loss_weight (now 50), or lengthen "
        "model.distill.warmup_iters (now 0); if the detector also diverges without distillation, lower the lr "
        "(--auto-scale-lr on another total batch)")
    assert "\n" not in str(error.value)


def test_the_hook_explains_a_nan_the_distillation_led_up_to():
    sequence = records([2.9, 1500.0, math.nan], [80.0, 5e6, math.nan])
    with pytest.raises(NSTDetError, match=r"^loss_nst_p2 \(weight 50\) grew from 80 to 2.5e\+06 while the detection "
                                          r"losses became nan by iteration 3: "):
        train(DistillDivergenceHook(), fake_runner(DISTILL), sequence)
    assert DistillDivergenceHook.priority == "HIGH"  # runs before NonFiniteLossHook (ABOVE_NORMAL)


def test_the_hook_names_a_level_weight():
    distill = dict(DISTILL, level_weights=dict(p2=2.0))
    with pytest.raises(NSTDetError, match=r"loss_nst_p2 \(weight 100 = loss_weight 50 x level weight 2\).*Lower "
                                          r"model.distill.loss.loss_weight or model.distill.level_weights"):
        train(DistillDivergenceHook(), fake_runner(distill), COLLAPSE)


def test_the_hook_lets_healthy_and_other_runs_through():
    assert train(DistillDivergenceHook(), fake_runner(DISTILL), HEALTHY) == len(HEALTHY)
    # not a distiller: nothing is watched
    assert train(DistillDivergenceHook(), fake_runner(DISTILL, "FasterRCNN"), COLLAPSE) == len(COLLAPSE)
    # past warmup_iters + check_iters: no longer watched
    late = DistillDivergenceHook(check_iters=2)
    assert train(late, fake_runner(DISTILL), COLLAPSE) == len(COLLAPSE)


def test_the_hook_undoes_the_configs_warm_up():
    ramp = [dict(r, loss_nst_p2=4.0 * i / 6, loss_nst_p3=2.0 * i / 6) for i, r in enumerate(COLLAPSE, start=1)]
    assert train(DistillDivergenceHook(), fake_runner(dict(DISTILL, warmup_iters=6)), ramp) == len(ramp)


def test_every_detection_runtime_enables_the_guard():
    runtime = Config.fromfile(str(ROOT / "configs" / "_base_" / "det_runtime.py"))
    types = [h["type"] for h in runtime.nst_det_hooks]
    assert "DistillDivergenceHook" in types and "NonFiniteLossHook" in types
