"""The FPN-distillation sweep's table (``tools/sweep_distill.py``): one row per cell, markdown and json.

Columns: the cell (family, dataset, teacher, loss, weight, stabilisers), the seeds it ran (a cell stops at its
first unstable seed), the detection-loss ratio to the baseline (trailing 5-iteration medians; final: mean and max
over seeds; peak: max over iterations 5..end and seeds), the fewest detections kept after a run (and the
baseline's), runs stopped by a non-finite loss (and baselines), the iteration at which the divergence guard's
rule would have stopped the run (per seed; ``—``: never), and the verdict: peak within 1.5 (with a trained teacher,
within 3: only no collapse), none where a baseline went NaN (the detector diverged without distillation, so the
seed says nothing about it).
"""
from __future__ import annotations

import math
from typing import Protocol, Sequence

DASH = "—"
BOUND = 1.5  # _lib.sweep.BOUND (this module imports no mmengine: the table renders without it)


class VerdictLike(Protocol):
    """What a row is made of (:class:`_lib.sweep.Verdict`)."""

    cell: object
    comparisons: list
    detections: list
    baseline_detections: list
    errors: list
    guard: list
    seconds: float
    baseline_errors: list
    judged: bool
    stable: bool
    bound: float


def _ratio(value: float) -> str:
    return "∞" if not math.isfinite(value) else f"{value:.2f}"


def row(verdict: VerdictLike) -> dict:
    """One row as plain data (the json report)."""
    cell = verdict.cell
    finals = [c.final for c in verdict.comparisons]
    return dict(
        stage=cell.stage, family=cell.family, dataset=cell.dataset, teacher=cell.teacher, loss=cell.loss,
        weight=cell.weight, warmup=cell.warmup, clip=cell.clip, lr_warmup=cell.lr_warmup, scale_lr=cell.scale_lr,
        settings=cell.settings,
        seeds=len(verdict.comparisons),
        final_ratio_mean=(sum(finals) / len(finals)) if finals else None,
        final_ratio_max=max(finals, default=None),
        peak_ratio=max((c.peak for c in verdict.comparisons), default=None),
        detections_min=min(verdict.detections, default=None),
        baseline_detections_min=min(verdict.baseline_detections, default=None),
        non_finite=sum(e is not None for e in verdict.errors),
        baseline_non_finite=sum(e is not None for e in verdict.baseline_errors),
        guard=list(verdict.guard), judged=verdict.judged, stable=verdict.stable, bound=verdict.bound,
        seconds=round(verdict.seconds, 1))


HEADER = ("| family | data | teacher | loss | weight | stabilisers | seeds | det. loss ratio, final (max) | peak | "
          "detections (baseline) | NaN (baseline) | guard at | stable |")


def _verdict(r: dict) -> str:
    if not r["judged"]:
        return "none: the baseline went NaN"
    return ("yes" if r["stable"] else "**no**") + (f" (bound {r['bound']:g})" if r["bound"] != BOUND else "")


def markdown(rows: Sequence[dict]) -> str:
    """The rows as a markdown table (:data:`HEADER`)."""
    lines = [HEADER, "|" + "---|" * HEADER.count(" | ") + "---|"]
    for r in rows:
        final = (f"{_ratio(r['final_ratio_mean'])} ({_ratio(r['final_ratio_max'])})"
                 if r["final_ratio_mean"] is not None else DASH)
        guard = ", ".join(DASH if g is None else str(g) for g in r["guard"]) if r["weight"] else DASH
        lines.append(f"| {r['family']} | {r['dataset']} | {r['teacher']} | {r['loss']} | {r['weight']:g} | "
                     f"{r['settings']} | {r['seeds']} | {final} | "
                     f"{_ratio(r['peak_ratio']) if r['peak_ratio'] is not None else DASH} | "
                     f"{r['detections_min']} ({r['baseline_detections_min']}) | {r['non_finite']} "
                     f"({r['baseline_non_finite']}) | {guard} | {_verdict(r)} |")
    return "\n".join(lines)


GUARD_HEADER = ("| factor | share | growth | stable runs it would stop | unstable runs it stops | "
                "first stop (iteration), median / max |")


def guard_markdown(rows: Sequence[dict]) -> str:
    """The divergence rule at several thresholds against the sweep's verdicts (rows of
    :func:`_lib.sweep.guard_calibration`)."""
    lines = [GUARD_HEADER, "|---|---|---|---|---|---|"]
    for r in rows:
        stops = sorted(r["iterations"])
        when = f"{stops[len(stops) // 2]} / {stops[-1]}" if stops else DASH
        lines.append(f"| {r['factor']:g} | {r['share']:g} | {r['growth']:g} | {r['false_alarms']} of {r['stable']} | "
                     f"{r['caught']} of {r['unstable']} | {when} |")
    return "\n".join(lines)
