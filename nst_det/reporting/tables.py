"""A/B tables over runs read by :mod:`nst_det.reporting.logs`: one summary row per run, and mean ± std over seeds.

Tables report each run's **final** validation value: the validation split of these configs is the
test set (ImageNet val, VOC07 test, COCO val2017), so no epoch is picked on it. A "best" column
appears only when a report selects the epoch on another, held-out split's metric (``select_on``),
and is labelled with that metric.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

from nst_det.distill.names import logged_kinds, method_label
from nst_det.reporting.logs import Run
from nst_det.utils.errors import NSTDetError

DASH = "—"
INFERRED_MARK = "*"


def method_of(run: Run) -> str:
    """CE / KD / NST / KD+NST / AT+NST / MSE / PKD / ... from the run's setup (the core's record); without
    one, inferred from the logged loss names (``loss_kd``, ``loss_<kind>_*``; marked ``*``)."""
    if run.setup is not None:
        distill = run.setup["distill"]
        kinds = (["kd"] if distill.get("kd") else []) + [loss["kind"] for loss in distill.get("losses") or []]
        return method_label(kinds)
    kinds = logged_kinds(run.loss_keys)
    return (method_label(kinds) if kinds else DASH) + INFERRED_MARK


def taps_of(run: Run) -> tuple[str, str]:
    """``(taps, weights)`` of the feature losses: taps as ``student←teacher`` (one name where both are the
    same, as FPN levels), weights as each loss's ``loss_weight`` (kind first when there are several; the
    NST kernel or the CWD temperature where not the default) and the pair weights where not all 1; ``?`` when
    only the logged names are known."""
    if run.setup is None:
        logged = list(dict.fromkeys(k.split("_", 2)[2] for k in run.loss_keys
                                    if k.count("_") >= 2 and logged_kinds([k]) and k != "loss_kd"))
        return (", ".join(logged) if logged else DASH), ("?" if logged else DASH)
    distill = run.setup["distill"]
    losses, taps = distill.get("losses") or [], distill.get("taps") or []
    if not losses or not taps:
        return DASH, DASH
    names = ", ".join(t["student"] if t["student"] == t["teacher"] else f"{t['student']}←{t['teacher']}" for t in taps)
    weights = []
    for loss in losses:
        text = (f"{loss['kind']} " if len(losses) > 1 else "") + _number(loss.get("loss_weight"))
        if loss.get("kernel", "poly") != "poly":
            text += f" ({loss['kernel']})"
        if loss.get("tau") is not None:
            text += f" (τ {_number(loss['tau'])})"
        weights.append(text)
    text = ", ".join(weights)
    if any(float(t.get("weight", 1.0)) != 1.0 for t in taps):
        text += " × " + ", ".join(f"{t['name']} {_number(float(t.get('weight', 1.0)))}" for t in taps)
    return names, text


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if value is not None else "?"


# ----------------------------------------------------------------------------- summary
@dataclass
class Summary:
    """One row of the report; metric values are ``None`` where the run has none.

    ``final`` is the metric at the last validation. ``selected`` is the metric at the validation
    where the held-out ``select_on`` metric was best (only when a report selects on one).
    """

    name: str
    student: str
    teacher: str
    method: str
    taps: str
    weight: str
    final: Optional[float]
    loss: Optional[float]
    loss_cls: Optional[float]
    delta: Optional[float] = None
    selected: Optional[float] = None
    selected_step: Optional[float] = None
    delta_selected: Optional[float] = None
    teacher_metric: Optional[float] = None


def select_step(run: Run, select_on: str, higher_is_better: bool = True) -> Optional[float]:
    """The validation step where ``select_on`` (a held-out split's metric) is best; the first of ties."""
    steps, values = run.series(select_on)
    if not values:
        return None
    best = max(range(len(values)), key=lambda i: (values[i] if higher_is_better else -values[i], -i))
    return steps[best]


def summarize(runs: Sequence[Run], metric: str = "accuracy/top1", select_on: Optional[str] = None,
              higher_is_better: bool = True) -> list[Summary]:
    """One :class:`Summary` per run; ``delta`` is the final metric minus the first run's.

    Args:
        runs: the work dirs; the first is the reference.
        metric: the reported metric (the test set's, as in every mmdet/ImageNet validation).
        select_on: optionally, a metric of a held-out split logged alongside; each run then also
            reports ``metric`` at the validation where ``select_on`` was best. It must differ from
            ``metric``: picking the epoch on the reported metric would pick on the test set.
        higher_is_better: direction of ``select_on``.

    ``teacher_metric`` is the teacher's own value of the metric, where the sidecar's
    ``teacher_val`` has it (``accuracy/top1`` -> ``teacher/top1``).

    The metric is read from the validation lines; a run with none of them falls back to its
    sidecar's ``val`` (final values). A metric no run has is an error listing the ones they have.
    """
    if not runs:
        raise NSTDetError("no runs to compare")
    if select_on is not None and select_on == metric:
        raise NSTDetError(f"selecting the epoch on {metric!r}, the reported metric, picks on the test set; "
                          "--select-on must name a held-out split's metric")
    rows = []
    for run in runs:
        steps, values = run.series(metric)
        if values:
            final = values[-1]
        else:
            sidecar_val = (run.sidecar or {}).get("val") or {}
            final = sidecar_val.get(metric) if isinstance(sidecar_val.get(metric), (int, float)) else None
        loss = run.series("loss", "train")[1]
        loss_cls = run.series("loss_cls", "train")[1]
        setup = run.setup or {}
        taps, weight = taps_of(run)
        teacher_val = (run.sidecar or {}).get("teacher_val") or {}
        teacher_metric = teacher_val.get("teacher/" + metric.rsplit("/", 1)[-1])
        row = Summary(
            name=run.name,
            student=(setup.get("student") or "?") if run.setup else DASH,
            teacher=setup.get("teacher") or DASH,
            method=method_of(run), taps=taps, weight=weight, final=final,
            loss=loss[-1] if loss else None, loss_cls=loss_cls[-1] if loss_cls else None,
            teacher_metric=float(teacher_metric) if isinstance(teacher_metric, (int, float)) else None)
        if select_on is not None:
            row.selected_step = select_step(run, select_on, higher_is_better)
            at_step = dict(zip(steps, values))
            row.selected = at_step.get(row.selected_step) if row.selected_step is not None else None
        rows.append(row)
    if all(r.final is None for r in rows):
        available = sorted({k for run in runs for k in run.metric_keys()})
        where = ", ".join(str(run.work_dir) for run in runs)
        raise NSTDetError(f"metric {metric!r} is not logged in {where}; logged validation metrics: "
                          f"{available or 'none yet'}")
    if select_on is not None and all(r.selected_step is None for r in rows):
        available = sorted({k for run in runs for k in run.metric_keys()})
        raise NSTDetError(f"held-out metric {select_on!r} is not logged; logged validation metrics: {available}")
    reference = rows[0]
    for row in rows:
        if row.final is not None and reference.final is not None:
            row.delta = row.final - reference.final
        if row.selected is not None and reference.selected is not None:
            row.delta_selected = row.selected - reference.selected
    return rows


def _fmt(value: Optional[float], digits: int = 2, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def table_columns(rows: Sequence[Summary], metric: str, by_epoch: bool = True,
                  select_on: Optional[str] = None) -> tuple[list[str], list[list[str]]]:
    """Header and cell strings of the report table.

    The selected columns appear only with ``select_on``, labelled with the held-out metric.
    Metric values get 2 decimals when they look like percentages (any above 1), else 4 (mAP in 0..1).
    """
    at = "ep" if by_epoch else "it"
    values = [abs(v) for r in rows for v in (r.final, r.selected, r.teacher_metric) if v is not None]
    digits = 2 if any(v > 1 for v in values) else 4
    teacher = f"teacher ({metric})" if any(r.teacher_metric is not None for r in rows) else "teacher"
    header = ["run", "student", teacher, "method", "taps (student←teacher)", "weight", f"final {metric}", "Δ final"]
    if select_on is not None:
        header += [f"{metric} at best held-out {select_on} (@{at})", "Δ (held-out selection)"]
    header += ["loss", "loss_cls"]
    body = []
    for i, row in enumerate(rows):
        reference = i == 0
        teacher = row.teacher if row.teacher_metric is None else f"{row.teacher} ({_fmt(row.teacher_metric, digits)})"
        cells = [row.name, row.student, teacher, row.method, row.taps, row.weight, _fmt(row.final, digits),
                 "ref" if reference and row.final is not None else _fmt(row.delta, digits, signed=True)]
        if select_on is not None:
            selected = _fmt(row.selected, digits)
            if row.selected is not None and row.selected_step is not None:
                selected += f" (@{_number(row.selected_step)})"
            cells += [selected, "ref" if reference and row.selected is not None
                      else _fmt(row.delta_selected, digits, signed=True)]
        body.append(cells + [_fmt(row.loss, 4), _fmt(row.loss_cls, 4)])
    return header, body


def format_table(rows: Sequence[Summary], metric: str, markdown: bool = False, by_epoch: bool = True,
                 select_on: Optional[str] = None) -> str:
    """The report as aligned plain text, or as a GitHub markdown table (``markdown=True``).

    Final is the last logged validation value (no epoch is picked on the reported metric); with
    ``select_on``, also the metric where that held-out metric was best. Δ is against the first run;
    the teacher's own value of the metric (when its sidecar recorded it) follows its arch;
    ``loss``/``loss_cls`` are the last logged (window-averaged) training values.
    """
    header, body = table_columns(rows, metric, by_epoch, select_on)
    if markdown:
        escape = lambda cell: cell.replace("|", "\\|")  # noqa: E731
        lines = ["| " + " | ".join(header) + " |",
                 "|" + "|".join("---" if i < 6 else "---:" for i in range(len(header))) + "|"]
        lines += ["| " + " | ".join(escape(c) for c in cells) + " |" for cells in body]
    else:
        widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
        just = lambda i, cell: cell.ljust(widths[i]) if i < 6 else cell.rjust(widths[i])  # noqa: E731
        lines = ["  ".join(just(i, c) for i, c in enumerate(header)).rstrip(),
                 "  ".join("-" * w for w in widths)]
        lines += ["  ".join(just(i, c) for i, c in enumerate(cells)).rstrip() for cells in body]
    notes = []
    if any(row.method.endswith(INFERRED_MARK) for row in rows):
        notes.append(f"{INFERRED_MARK} no export sidecar or distill.json (a run from before nst_det recorded its "
                     "setup): method inferred from the logged loss names")
    if notes:
        lines += [""] + notes
    return "\n".join(lines)


# ----------------------------------------------------------------------------- over seeds
def mean_std(values: Sequence[float]) -> tuple[float, Optional[float]]:
    """Mean and sample standard deviation (n − 1); the deviation is ``None`` for one value."""
    if not values:
        raise NSTDetError("mean_std: no values")
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def seed_table(results: dict[str, Sequence[dict]], metrics: Sequence[tuple[str, str]], digits: int = 3) -> str:
    """A markdown table of final test metrics over seeds: ``mean ± std`` per row and metric.

    Args:
        results: row label -> one metrics dict per seed (``test_metrics.json`` of ``tools/test_det.py``).
        metrics: ``(key, column title)`` pairs, e.g. ``("pascal_voc/mAP", "VOC mAP")``.
        digits: decimals.

    The standard deviation is the sample one (n − 1), shown only for two or more seeds; the per-seed
    values of the first metric follow, in seed order.
    """
    header = ["row", "seeds", *[f"{title} (mean ± std)" for _, title in metrics], f"{metrics[0][1]} per seed"]
    lines = ["| " + " | ".join(header) + " |", "|---|---:|" + "---:|" * len(metrics) + "---|"]
    for label, per_seed in results.items():
        cells = [label, str(len(per_seed))]
        for key, _ in metrics:
            values = [float(m[key]) for m in per_seed if isinstance(m.get(key), (int, float))]
            if len(values) != len(per_seed):
                raise NSTDetError(f"seed table: row {label!r} lacks {key!r} in {len(per_seed) - len(values)} of "
                                  f"its {len(per_seed)} runs")
            mean, std = mean_std(values)
            cells.append(f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else ""))
        first = metrics[0][0]
        cells.append(", ".join(f"{float(m[first]):.{digits}f}" for m in per_seed))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
