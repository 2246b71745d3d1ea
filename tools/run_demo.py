"""The whole nst_det pipeline on generated demo data, on CPU, in minutes (``bash scripts/demo.sh``).

    make demo data -> ImageNet stage: ResNet-34 teacher, ResNet-18 students (CE / KD / NST / KD+NST)
    -> A/B table and curves -> detection stage: R-34-FPN teacher detector, R-18-FPN students
    (CE backbone / NST backbone / NST backbone + NST on P2-P6) -> VOC mAP + COCO AP per model,
    A/B table, curves and images with predicted boxes

Every step is one of the project's own tools run as a subprocess, exactly as a user would run it.
A step whose result already exists is skipped, so an interrupted demo continues where it stopped;
``--fresh`` starts over.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
PRETRAIN = "configs/pretrain"
DET = "configs/demo"
DET_EPOCHS = 8  # max_epochs of configs/_base_/det_demo_voc.py


@dataclass
class Step:
    """One command of the pipeline; ``done`` is the file whose existence means it already ran."""

    name: str
    command: list[str]
    done: Optional[Path] = None


def pretrain_step(name: str, config: str, work: Path, data: Path, arch: str,
                  teacher: Optional[Path] = None) -> Step:
    options = [f"data_root={data}/imagenet/"]
    if teacher is not None:
        options.append(f"teacher_checkpoint={teacher}")
    out = work / name
    return Step(name, [sys.executable, "tools/pretrain_backbone.py", f"{PRETRAIN}/{config}", "--work-dir", str(out),
                       "--cfg-options", *options], done=out / f"backbone_{arch}.json")


def det_steps(name: str, config: str, work: Path, data: Path, backbone: Path,
              teacher: Optional[Path] = None, show: bool = False) -> list[Step]:
    """Train one demo detector, then test it (VOC mAP and COCO AP, per-class tables)."""
    out = work / name
    options = [f"data_root={data}/VOCdevkit/", f"backbone_checkpoint={backbone}"]
    if teacher is not None:
        options.append(f"teacher_checkpoint={teacher}")
    test = [sys.executable, "tools/test_det.py", f"{DET}/{config}", str(out), "--coco-ap",
            "--work-dir", str(out / "test"), "--cfg-options", *options]
    if show:
        test += ["--show-dir", str(work / "predictions")]
    return [Step(name, [sys.executable, "tools/train_det.py", f"{DET}/{config}", "--work-dir", str(out),
                        "--cfg-options", *options], done=out / f"epoch_{DET_EPOCHS}.pth"),
            Step(f"test {name}", test, done=out / "test" / "test_metrics.json")]


def build_steps(work: Path) -> list[Step]:
    data = work / "data"
    teacher = work / "teacher_r34" / "classifier_resnet34.pth"
    students = [("baseline_r18", "demo_baseline_r18.py", None), ("kd_r18", "demo_kd_r34_r18.py", teacher),
                ("nst_r18", "demo_nst_r34_r18.py", teacher), ("kd_nst_r18", "demo_kd_nst_r34_r18.py", teacher)]
    detectors = [("det_baseline", "faster_rcnn_baseline_demo.py", work / "baseline_r18", None),
                 ("det_nst_backbone", "faster_rcnn_nst_backbone_only_demo.py", work / "nst_r18", None),
                 ("det_nst_fpn", "faster_rcnn_nst_demo.py", work / "nst_r18", work / "det_teacher_r34")]
    steps = [
        Step("demo data", [sys.executable, "tools/make_demo_data.py", "--out", str(data)],
             done=data / "coco" / "annotations" / "instances_val.json"),
        pretrain_step("teacher_r34", "demo_teacher_r34.py", work, data, "resnet34"),
        *[pretrain_step(name, config, work, data, "resnet18", t) for name, config, t in students],
        Step("A/B report, ImageNet stage",
             [sys.executable, "tools/compare_runs.py", *[str(work / name) for name, _, _ in students],
              "--names", "CE", "KD", "NST", "KD+NST", "--plot", str(work / "pretrain_curves.png")]),
        *det_steps("det_teacher_r34", "faster_rcnn_r34_teacher_demo.py", work, data,
                   work / "teacher_r34" / "backbone_resnet34.pth"),
        *[step for name, config, student, det_teacher in detectors
          for step in det_steps(name, config, work, data, student / "backbone_resnet18.pth", det_teacher,
                                show=name == "det_nst_fpn")],
        Step("A/B report, detection stage",
             [sys.executable, "tools/compare_runs.py", *[str(work / name) for name, *_ in detectors],
              "--names", "CE backbone", "NST backbone", "NST backbone + FPN", "--metric", "pascal_voc/mAP",
              "--plot", str(work / "detection_curves.png")]),
    ]
    return steps


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
    args = parser.parse_args(argv)

    work = (ROOT / args.work_dir).resolve()
    if args.fresh and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    steps = build_steps(work)
    start = time.perf_counter()
    for index, step in enumerate(steps, 1):
        run_step(step, index, len(steps))
    print(f"\nPipeline finished in {time.perf_counter() - start:.0f} s; everything is in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
