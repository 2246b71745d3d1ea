"""Curves of runs read by :mod:`nst_det.reporting.logs` (matplotlib, imported on use)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence, Union

from nst_det.reporting.logs import Run
from nst_det.utils.errors import NSTDetError


def plot_runs(runs: Sequence[Run], metric: str, out: Union[str, Path], title: Optional[str] = None) -> Path:
    """Write one PNG: training ``loss_cls`` (solid) and total ``loss`` (dashed) vs iteration, and
    the validation ``metric`` vs epoch (or iteration), one colour per run.

    The loss axis turns logarithmic when a total loss exceeds twice the largest ``loss_cls``.
    """
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FormatStrFormatter

    out = Path(out)
    if out.suffix.lower() != ".png":
        raise NSTDetError(f"--plot {out}: the plot is written as PNG; give a path ending in .png")
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(12.5, 4.6))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, run in enumerate(runs):
        colour = colours[i % len(colours)]
        steps, values = run.series("loss_cls", "train")
        if steps:
            ax_loss.plot(steps, values, color=colour, lw=1.6)
        total_steps, total = run.series("loss", "train")
        if total_steps and total != values:  # for CE-only runs loss == loss_cls: draw it once
            ax_loss.plot(total_steps, total, color=colour, lw=1.2, ls="--", alpha=0.8)
        steps, values = run.series(metric)
        if steps:
            ax_metric.plot(steps, values, color=colour, lw=1.6, marker="o", ms=4, label=run.name)
        else:
            ax_metric.plot([], [], color=colour, lw=1.6, marker="o", ms=4, label=f"{run.name} (no {metric})")
    ax_loss.set_xlabel("iteration")
    ax_loss.set_ylabel("training loss")
    ax_loss.set_title("training loss")
    # a total loss far above loss_cls (KD's T²-scaled term) would flatten the loss_cls curves
    cls_max = max((v for run in runs for v in run.series("loss_cls", "train")[1]), default=0.0)
    all_losses = [v for run in runs for key in ("loss", "loss_cls") for v in run.series(key, "train")[1]]
    if cls_max > 0 and all_losses and min(all_losses) > 0 and max(all_losses) > 2 * cls_max:
        ax_loss.set_yscale("log")
        ax_loss.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax_loss.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
        ax_loss.set_title("training loss (log scale)")
    ax_loss.grid(alpha=0.3)
    ax_loss.legend(handles=[Line2D([], [], color="0.3", lw=1.6, label="loss_cls"),
                            Line2D([], [], color="0.3", lw=1.2, ls="--", label="loss (total, if different)")],
                   loc="upper right", fontsize=8)
    by_epoch = all(run.by_epoch for run in runs)
    ax_metric.set_xlabel("epoch" if by_epoch else "iteration")
    ax_metric.set_ylabel(metric)
    ax_metric.set_title(f"validation {metric}")
    ax_metric.grid(alpha=0.3)
    if by_epoch:
        ax_metric.xaxis.get_major_locator().set_params(integer=True)
    ax_metric.legend(loc="best", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=120)
    except OSError as exc:
        raise NSTDetError(f"cannot write plot {out}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    return out
