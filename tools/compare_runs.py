"""A/B report over training work dirs: a table of the final metric and Δ, and a curves PNG.

    python tools/compare_runs.py work_dirs/ce_r18_8e_demo work_dirs/demo_nst_r50_r18 \\
        --names baseline nst --plot curves.png --markdown
    python tools/compare_runs.py work_dirs/det_baseline work_dirs/det_nst --metric pascal_voc/mAP

Each row: run name, student and teacher, method (CE / KD / NST / KD+NST / AT+NST / MSE / PKD / CWD ...), the
taps and the weights of its feature losses (all from the run's ``distill.json``, the distillation core's record,
written when training starts: ImageNet-stage and detection runs alike; else from an export sidecar), the **final**
value of ``--metric`` (the last validation) and its Δ against the first run, and the last logged training ``loss``
and ``loss_cls``. The validation split is the test set here, so no epoch is picked on it; ``--select-on KEY`` adds
the metric at the epoch where ``KEY``, a held-out split's metric logged alongside, was best (labelled as such).
A work dir launched several times is read as described in :mod:`nst_det.reporting`: resumed launches are chained,
a repeated run shows its newest launch. Work dirs with no record (runs of an older version) are shown from their
scalars, with student and teacher "—" and the method inferred from the logged loss names (marked ``*``).
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional

from nst_det.engine.cli import run_cli
from nst_det.reporting import format_table, load_run, plot_runs, summarize
from nst_det.utils.errors import NSTDetError


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work_dirs", nargs="+", metavar="WORK_DIR",
                        help="training work dirs; the first is the reference")
    parser.add_argument("--names", nargs="+", help="one display name per work dir (default: the directory names)")
    parser.add_argument("--metric", default="accuracy/top1",
                        help="validation metric key, e.g. accuracy/top1, pascal_voc/mAP, coco/bbox_mAP")
    parser.add_argument("--select-on", metavar="KEY",
                        help="a held-out split's validation metric (not --metric): also report --metric at "
                             "the epoch where KEY was best")
    parser.add_argument("--lower-is-better", action="store_true", help="with --select-on: lower KEY is better")
    parser.add_argument("--plot", metavar="PNG", help="write loss and metric curves to this PNG")
    parser.add_argument("--markdown", action="store_true", help="print a GitHub markdown table")
    args = parser.parse_args(argv)

    if args.names is not None and len(args.names) != len(args.work_dirs):
        raise NSTDetError(f"--names gives {len(args.names)} names for {len(args.work_dirs)} work dirs")
    names = args.names or [None] * len(args.work_dirs)
    runs = [load_run(work_dir, name) for work_dir, name in zip(args.work_dirs, names)]
    rows = summarize(runs, args.metric, select_on=args.select_on, higher_is_better=not args.lower_is_better)
    print(format_table(rows, args.metric, markdown=args.markdown, by_epoch=all(r.by_epoch for r in runs),
                       select_on=args.select_on))
    if args.plot:
        out = plot_runs(runs, args.metric, args.plot)
        print(f"\ncurves written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
