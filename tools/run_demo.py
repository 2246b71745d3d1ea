"""The whole nst_det pipeline on generated demo data, on CPU, in minutes (``bash scripts/demo.sh``).

    make demo data -> ImageNet stage: ResNet-34 teacher, ResNet-18 students (CE / KD / NST / KD+NST)
    -> A/B table and curves -> detection stage: R-34-FPN teacher detector, R-18-FPN students
    (CE backbone / NST backbone / NST backbone + NST on P2-P5 / NST backbone + MSE mimic on P2-P5,
    the same teacher) -> VOC mAP + COCO AP per model, A/B table, curves and images with predicted boxes

    python tools/run_demo.py                      # the demo: one run per detector
    python tools/run_demo.py --seeds 3            # the detection A/B over seeds 0, 1, 2: mean ± std per row

Every step is one of the project's own tools run as a subprocess, exactly as a user would run it.
A step whose result already exists is skipped, so an interrupted demo continues where it stopped;
``--fresh`` starts over. With ``--seeds N`` only what the detection A/B needs runs (data, the
teacher, the CE and NST backbones, the teacher detector), then each detection row once per seed
(``randomness.seed``; the backbones and the teacher are the same for every seed), and the table of
final-epoch test metrics over seeds is printed and written to ``<work dir>/seeds_ab.md``.
``--tiny`` shrinks data and schedules to a smoke test of the driver (minutes; numbers meaningless).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from nst_det.reporting import seed_table

ROOT = Path(__file__).resolve().parents[1]

PRETRAIN = "configs/pretrain"
DET = "configs/demo"
DET_EPOCHS = 8  # max_epochs of configs/_base_/det_demo_voc.py
SEED_METRICS = (("pascal_voc/mAP", "VOC mAP"), ("coco/bbox_mAP", "COCO AP"))


@dataclass
class Step:
    """One command of the pipeline; ``done`` is the file whose existence means it already ran."""

    name: str
    command: list[str]
    done: Optional[Path] = None


@dataclass(frozen=True)
class DetRow:
    """One detector of the detection A/B: its work dir name, demo config, backbone run and label."""

    name: str
    config: str
    backbone: str  # the ImageNet-stage run whose backbone_resnet18.pth initialises it
    label: str
    distilled: bool  # trained from the teacher detector


DET_ROWS = (
    DetRow("det_baseline", "faster_rcnn_baseline_demo.py", "baseline_r18", "CE backbone", False),
    DetRow("det_nst_backbone", "faster_rcnn_nst_backbone_only_demo.py", "nst_r18", "NST backbone", False),
    DetRow("det_nst_fpn", "faster_rcnn_nst_demo.py", "nst_r18", "NST backbone + FPN-NST", True),
    DetRow("det_fpn_mse", "faster_rcnn_fpn_mse_demo.py", "nst_r18", "NST backbone + FPN-MSE (same teacher)", True),
)


@dataclass(frozen=True)
class Sizes:
    """Data and schedule: the demo's, or ``--tiny``'s."""

    data: tuple[str, ...] = ()      # extra tools/make_demo_data.py flags
    pretrain: tuple[str, ...] = ()  # extra --cfg-options of the ImageNet stage
    det: tuple[str, ...] = ()       # extra --cfg-options of the detection stage
    det_epochs: int = DET_EPOCHS


WORKERS_OFF = ("num_workers=0", "persistent_workers=False")
TINY = Sizes(
    data=("--train-per-class", "4", "--val-per-class", "2", "--image-size", "40", "--num-trainval", "4",
          "--num-test", "2", "--det-size", "96", "128"),
    pretrain=("train_cfg.max_epochs=1", "train_cfg.val_interval=1", "default_hooks.checkpoint.interval=1",
              "train_dataloader.batch_size=4", "train_dataloader.dataset.crop_size=32",
              "val_dataloader.dataset.crop_size=32", "val_dataloader.dataset.resize_size=36",
              *[f"{loader}.{option}" for loader in ("train_dataloader", "val_dataloader") for option in WORKERS_OFF]),
    det=("train_cfg.max_epochs=1", "default_hooks.checkpoint.interval=1", "train_dataloader.batch_size=2",
         *[f"{loader}.{option}" for loader in ("train_dataloader", "val_dataloader", "test_dataloader")
           for option in WORKERS_OFF]),
    det_epochs=1)


def pretrain_step(name: str, config: str, work: Path, data: Path, arch: str, sizes: Sizes,
                  teacher: Optional[Path] = None) -> Step:
    options = [f"data_root={data}/imagenet/", *sizes.pretrain]
    if teacher is not None:
        options.append(f"teacher_checkpoint={teacher}")
    out = work / name
    return Step(name, [sys.executable, "tools/pretrain_backbone.py", f"{PRETRAIN}/{config}", "--work-dir", str(out),
                       "--cfg-options", *options], done=out / f"backbone_{arch}.json")


def det_steps(name: str, config: str, out: Path, data: Path, backbone: Path, sizes: Sizes,
              teacher: Optional[Path] = None, seed: Optional[int] = None,
              show_dir: Optional[Path] = None) -> list[Step]:
    """Train one demo detector into ``out``, then test its final checkpoint (VOC mAP and COCO AP)."""
    options = [f"data_root={data}/VOCdevkit/", f"backbone_checkpoint={backbone}", *sizes.det]
    if teacher is not None:
        options.append(f"teacher_checkpoint={teacher}")
    if seed is not None:
        options.append(f"randomness.seed={seed}")
    test = [sys.executable, "tools/test_det.py", f"{DET}/{config}", str(out), "--coco-ap",
            "--work-dir", str(out / "test"), "--cfg-options", *options]
    if show_dir is not None:
        test += ["--show-dir", str(show_dir)]
    return [Step(name, [sys.executable, "tools/train_det.py", f"{DET}/{config}", "--work-dir", str(out),
                        "--cfg-options", *options], done=out / f"epoch_{sizes.det_epochs}.pth"),
            Step(f"test {name}", test, done=out / "test" / "test_metrics.json")]


def data_step(data: Path, sizes: Sizes) -> Step:
    return Step("demo data", [sys.executable, "tools/make_demo_data.py", "--out", str(data), *sizes.data],
                done=data / "coco" / "annotations" / "instances_val.json")


def teacher_det_steps(work: Path, data: Path, sizes: Sizes) -> list[Step]:
    """The teacher detector, on the ImageNet-stage teacher's backbone."""
    return det_steps("det_teacher_r34", "faster_rcnn_r34_teacher_demo.py", work / "det_teacher_r34", data,
                     work / "teacher_r34" / "backbone_resnet34.pth", sizes)


def build_steps(work: Path, sizes: Sizes = Sizes()) -> list[Step]:
    """The demo: every ImageNet-stage student and one run of every detection row."""
    data = work / "data"
    teacher = work / "teacher_r34" / "classifier_resnet34.pth"
    students = [("baseline_r18", "demo_baseline_r18.py", None), ("kd_r18", "demo_kd_r34_r18.py", teacher),
                ("nst_r18", "demo_nst_r34_r18.py", teacher), ("kd_nst_r18", "demo_kd_nst_r34_r18.py", teacher)]
    return [
        data_step(data, sizes),
        pretrain_step("teacher_r34", "demo_teacher_r34.py", work, data, "resnet34", sizes),
        *[pretrain_step(name, config, work, data, "resnet18", sizes, t) for name, config, t in students],
        Step("A/B report, ImageNet stage",
             [sys.executable, "tools/compare_runs.py", *[str(work / name) for name, _, _ in students],
              "--names", "CE", "KD", "NST", "KD+NST", "--plot", str(work / "pretrain_curves.png")]),
        *teacher_det_steps(work, data, sizes),
        *[step for row in DET_ROWS
          for step in det_steps(row.name, row.config, work / row.name, data,
                                work / row.backbone / "backbone_resnet18.pth", sizes,
                                work / "det_teacher_r34" if row.distilled else None,
                                show_dir=work / "predictions" if row.name == "det_nst_fpn" else None)],
        Step("A/B report, detection stage (final epoch)",
             [sys.executable, "tools/compare_runs.py", *[str(work / row.name) for row in DET_ROWS],
              "--names", *[row.label for row in DET_ROWS], "--metric", "pascal_voc/mAP",
              "--plot", str(work / "detection_curves.png")]),
    ]


def seed_dir(work: Path, seed: int, row: DetRow) -> Path:
    return work / f"seed{seed}" / row.name


def build_seed_steps(work: Path, seeds: int, sizes: Sizes = Sizes()) -> list[Step]:
    """What the detection A/B over ``seeds`` seeds needs: shared backbones and teacher, then every row per seed."""
    data = work / "data"
    teacher = work / "teacher_r34" / "classifier_resnet34.pth"
    return [
        data_step(data, sizes),
        pretrain_step("teacher_r34", "demo_teacher_r34.py", work, data, "resnet34", sizes),
        pretrain_step("baseline_r18", "demo_baseline_r18.py", work, data, "resnet18", sizes),
        pretrain_step("nst_r18", "demo_nst_r34_r18.py", work, data, "resnet18", sizes, teacher),
        *teacher_det_steps(work, data, sizes),
        *[step for seed in range(seeds) for row in DET_ROWS
          for step in det_steps(f"{row.name} seed {seed}", row.config, seed_dir(work, seed, row), data,
                                work / row.backbone / "backbone_resnet18.pth", sizes,
                                work / "det_teacher_r34" if row.distilled else None, seed=seed)],
    ]


def seeds_report(work: Path, seeds: int) -> str:
    """The markdown table of final-epoch test metrics, mean ± std over the seeds, one line per row."""
    results = {row.label: [json.loads((seed_dir(work, seed, row) / "test" / "test_metrics.json").read_text())
                           for seed in range(seeds)] for row in DET_ROWS}
    return seed_table(results, SEED_METRICS)


def run_step(step: Step, index: int, total: int) -> None:
    header = f"[{index}/{total}] {step.name}"
    if step.done is not None and step.done.exists():
        print(f"{header}: already done ({step.done}), skipping", flush=True)
        return
    print(f"{header}\n$ {' '.join(step.command)}", flush=True)
    start = time.perf_counter()
    result = subprocess.run(step.command, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"error: step '{step.name}' failed (exit {result.returncode}); fix it and rerun "
                         "scripts/demo.sh to continue from this step")
    print(f"{header}: done in {time.perf_counter() - start:.0f} s", flush=True)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-dir", default="work_dirs/demo", help="where data, runs and reports go")
    parser.add_argument("--fresh", action="store_true", help="delete the work dir first")
    parser.add_argument("--seeds", type=int, metavar="N",
                        help="run the detection A/B (4 rows, same teacher) over seeds 0..N-1 and print mean ± std")
    parser.add_argument("--tiny", action="store_true", help="tiny data and one-epoch schedules: a smoke test")
    args = parser.parse_args(argv)
    if args.seeds is not None and args.seeds < 1:
        parser.error("--seeds must be at least 1")

    work = (ROOT / args.work_dir).resolve()
    if args.fresh and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    sizes = TINY if args.tiny else Sizes()
    steps = build_steps(work, sizes) if args.seeds is None else build_seed_steps(work, args.seeds, sizes)
    start = time.perf_counter()
    for index, step in enumerate(steps, 1):
        run_step(step, index, len(steps))
    if args.seeds is not None:
        table = seeds_report(work, args.seeds)
        (work / "seeds_ab.md").write_text(table + "\n")
        print(f"\nDetection A/B, final-epoch test metrics over {args.seeds} seed(s):\n{table}")
    print(f"\nPipeline finished in {time.perf_counter() - start:.0f} s; everything is in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
