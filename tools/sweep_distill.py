"""Choose the FPN-distillation settings that keep a detector's first iterations healthy, per detector family.

    python tools/sweep_distill.py --demo-dir work_dirs/demo             # all stages, 3 seeds (hours on 2 cores)
    python tools/sweep_distill.py --stages weights --families faster_rcnn --seeds 1   # one stage, one family

Each run trains a shipped config (configs/distill/mmdet/nst/nst-fpn_*.py) for --iters iterations,
batch 2, at --image-scale, in this process (nst_det/engine/short_runs.py), and is compared with the same run with
the distillation weighted 0 (same init, data and sampling). Stages (tools/_lib/sweep_plan.py): ``weights``
(every NST and MSE weight at the worst case: random teacher, base lr from iteration 1, no warm-up), then
``stabilisers`` (distillation warm-up, clipping, LR warm-up for the weights that were unstable), then ``confirm``
(the choice on VOC and COCO layouts and the demo data; the demo's trained teacher where --demo-dir has one).
Data in the real VOC07+12 and COCO 2017 layouts is generated; teachers with random weights are written as
stock mmengine checkpoints of each config's real-size teacher (R-50/R-101).

Writes, in --work-dir: runs.jsonl (every run's per-iteration losses; a rerun continues from it), sweep.md and
sweep.json (the table, the choice, the command and the machine).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path
from typing import Optional

import torch
import torchvision

import nst_det.register_all  # noqa: F401  (configs' types)
from nst_det.data import make_detection_dataset
from nst_det.data.real_layout import make_real_layout_dataset
from nst_det.det.stability import DivergenceRule
from nst_det.engine.cli import run_cli
from nst_det.engine.short_runs import write_random_teacher
from nst_det.utils.errors import NSTDetError

from _lib.sweep import FAMILIES, Inputs, Sweep, guard_calibration
from _lib.sweep_plan import (
    CONFIRM_ORDER,
    SETTINGS,
    Choice,
    candidates,
    stage_confirm,
    stage_stabilisers,
    stage_weights,
)
from _lib.sweep_table import guard_markdown, markdown, row

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("weights", "stabilisers", "confirm")
# trained teacher detectors in --demo-dir: family -> work dir name, used where present. tools/run_demo.py trains
# Faster R-CNN's; Cascade R-CNN's: `tools/train_det.py
# configs/detection/demo/cascade-rcnn_r34_fpn_ce-backbone_8e_demo.py --work-dir <demo dir>/det_teacher_r34_cascade-rcnn`
# on the demo's data and R-34 backbone (BENCHMARKS.md). The RetinaNet and FCOS demo teachers reach VOC mAP
# 0.04 / 0.07 on that schedule: not trained teachers.
DEMO_TEACHERS = {"faster_rcnn": "det_teacher_r34", "cascade_rcnn": "det_teacher_r34_cascade-rcnn"}


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-dir", type=Path, default=Path("work_dirs/sweep_distill"))
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    parser.add_argument("--families", nargs="+", choices=sorted(FAMILIES), default=list(FAMILIES))
    parser.add_argument("--mse-families", nargs="*", choices=sorted(FAMILIES), default=["faster_rcnn"],
                        help="families whose MSE (FitNet-style) control is swept too (shipped: Faster R-CNN's)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--iters", type=int, default=20, help="training iterations per run (batch 2)")
    parser.add_argument("--image-scale", type=int, nargs=2, default=(160, 120), metavar=("W", "H"))
    parser.add_argument("--demo-dir", type=Path, help="a finished tools/run_demo.py work dir: its data, and its "
                        "trained teacher detector with its NST ResNet-18 for the trained-teacher runs")
    parser.add_argument("--datasets", nargs="+", choices=CONFIRM_ORDER, default=list(CONFIRM_ORDER),
                        help="the confirm stage's datasets, in this order")
    parser.add_argument("--confirm", metavar="LOSS:WEIGHT:SETTING", nargs="+",
                        help="confirm these instead of the sweep's choice; SETTING one of "
                             f"{[s.name for s in SETTINGS]}")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.iters < 10:
        parser.error("--seeds must be >= 1 and --iters >= 10")
    return args


def prepare(args: argparse.Namespace) -> Inputs:
    """Data, student backbone and the teacher factory, in --work-dir (made once)."""
    work = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    real = work / "data_real"
    if not (real / "coco" / "annotations" / "instances_val2017.json").is_file():
        make_real_layout_dataset(real, num_trainval=48, num_test=8, image_size=(240, 320), seed=0)
    demo_data = args.demo_dir / "data" if args.demo_dir else work / "data_demo"
    if not args.demo_dir and not (demo_data / "VOCdevkit").is_dir():
        make_detection_dataset(demo_data, num_trainval=48, num_test=8, seed=0, layouts=("voc",))
    backbones = {"random": work / "backbone_resnet18_random.pth"}
    if not backbones["random"].is_file():
        torch.manual_seed(0)
        torch.save({k: v for k, v in torchvision.models.resnet18().state_dict().items()
                    if not k.startswith("fc.")}, backbones["random"])
    if args.demo_dir:
        backbones["trained"] = args.demo_dir / "nst_r18" / "backbone_resnet18.pth"
        if not backbones["trained"].is_file():
            raise NSTDetError(f"{backbones['trained']} does not exist: --demo-dir must be a finished "
                              "tools/run_demo.py work dir")

    def teacher(family: str, config: str, kind: str, seed: int) -> str:
        if kind == "trained":
            return str(args.demo_dir / DEMO_TEACHERS[family])
        path = work / "teachers" / f"{Path(config).stem}_seed{seed}.pth"
        return str(path if path.is_file() else write_random_teacher(config, path, seed))

    return Inputs(data=dict(voc=f"{real}/VOCdevkit/", coco=f"{real}/coco/", demo=f"{demo_data}/VOCdevkit/"),
                  backbones={k: str(v) for k, v in backbones.items()}, teacher=teacher, work=work,
                  seeds=args.seeds, iters=args.iters, image_scale=tuple(args.image_scale))


def parse_choice(text: str) -> Choice:
    try:
        loss, weight, name = text.split(":", 2)
        return Choice(loss, float(weight), next(s for s in SETTINGS if s.name == name))
    except (ValueError, StopIteration):
        raise NSTDetError(f"--confirm {text}: expected LOSS:WEIGHT:SETTING, SETTING one of "
                          f"{[s.name for s in SETTINGS]}") from None


def machine() -> str:
    return f"{platform.machine()} {platform.processor() or 'CPU'}, {os.cpu_count()} cores, torch {torch.__version__}"


GUARD_RULES = [DivergenceRule(factor=f, share=s, growth=g) for f in (1.5, 2.0, 3.0) for s in (0.25, 0.5, 1.0)
               for g in (1.0, 1.5)]


def write_report(work: Path, sweep: Sweep, sections: dict, choices: list[Choice], command: str) -> Path:
    rows = {name: [row(v) for v in verdicts] for name, verdicts in sections.items()}
    chosen = [dict(loss=c.loss, weight=c.weight, setting=c.setting.name) for c in choices]
    guard = guard_calibration(sweep.judged_runs(), GUARD_RULES)
    (work / "sweep.json").write_text(json.dumps(dict(command=command, machine=machine(), stages=rows,
                                                     choices=chosen, guard=guard), indent=1) + "\n")
    text = [f"Command: `{command}`  \nMachine: {machine()}\n"]
    for name, stage_rows in rows.items():
        text += [f"### Stage: {name}\n", markdown(stage_rows), ""]
    text += ["### Choice\n"] + [f"- {c['loss']}: weight {c['weight']}, {c['setting']}" for c in chosen]
    text += ["", "### The divergence guard's rule on these runs (one row per threshold set)\n", guard_markdown(guard)]
    (work / "sweep.md").write_text("\n".join(text) + "\n")
    return work / "sweep.md"


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    os.chdir(ROOT)  # the configs' relative paths
    inputs = prepare(args)
    sweep = Sweep(inputs, log=lambda line: print(line, flush=True))
    losses = {f: ["nst"] + (["mse"] if f in args.mse_families else []) for f in args.families}
    command = "python tools/sweep_distill.py " + " ".join(sys.argv[1:] if argv is None else argv)
    sections: dict = {}
    choices: list[Choice] = []
    if "weights" in args.stages or "stabilisers" in args.stages or not args.confirm:
        print("stage weights (worst case: random teacher, no warm-up)", flush=True)
        sections["weights"] = stage_weights(sweep, args.families, losses)
        write_report(inputs.work, sweep, sections, choices, command)
    if "stabilisers" in args.stages:
        print("stage stabilisers", flush=True)
        sections["stabilisers"] = stage_stabilisers(sweep, sections["weights"])
        write_report(inputs.work, sweep, sections, choices, command)
    verdicts = [v for stage in sections.values() for v in stage]
    mse = [f for f in args.families if f in args.mse_families]
    trained = [f for f in DEMO_TEACHERS if args.demo_dir and (args.demo_dir / DEMO_TEACHERS[f]).is_dir()]
    given = [parse_choice(text) for text in args.confirm or []]
    nst = [c for c in given if c.loss == "nst"] or candidates(verdicts, "nst", args.families)
    choices = [nst[0] if nst else Choice("nst", None, SETTINGS[0])]
    if "confirm" in args.stages:
        print("stage confirm", flush=True)
        choices[0], sections["confirm"] = stage_confirm(sweep, nst, args.families, trained, args.datasets)
    if mse and choices[0] is not None and choices[0].weight is not None:
        # the MSE control gets the NST choice's stabilisers (its configs inherit the NST configs' schedule)
        found = [c for c in given if c.loss == "mse"] or candidates(verdicts, "mse", mse, [choices[0].setting])
        choices.append(found[0] if found else Choice("mse", None, choices[0].setting))
        if "confirm" in args.stages:
            choices[1], tried = stage_confirm(sweep, found, mse, trained, args.datasets)
            sections["confirm"] += tried
    choices = [c for c in choices if c is not None]
    report = write_report(inputs.work, sweep, sections, choices, command)
    for c in choices:
        print(f"chosen for {c.loss}: weight {c.weight}, stabilisers: {c.setting.name}")
    print(f"table: {report} (and sweep.json; every run in runs.jsonl)")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
