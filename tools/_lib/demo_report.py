"""The demo's one report (``tools/run_demo.py`` -> ``<work dir>/report.md`` and ``report.html``).

It holds both A/B tables (ImageNet stage: final top-1 of each student; detection stage: final-checkpoint
VOC mAP and COCO AP of the teacher and each student), the training curves, a few test images as
ground truth | student | teacher, the selectivity maps of one image (teacher vs the CE and the NST
student), every command that produced a number, and the machine it ran on.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from PIL import Image as PILImage

from nst_det.reporting import load_run, summarize, table_columns

from .document import Code, Document, Heading, Image, Paragraph, Table
from .steps import Step, duration

DET_METRICS = (("pascal_voc/mAP", "VOC mAP"), ("coco/bbox_mAP", "COCO AP"), ("coco/bbox_mAP_50", "AP50"),
               ("coco/bbox_mAP_75", "AP75"))
SHOWN_PREDICTIONS = 3


@dataclass
class PredictionPair:
    """Folders of ``tools/test_det.py --show-dir`` drawings (each ground truth | prediction) of one
    student and of the teacher, on the same test images."""

    student: Path
    teacher: Path


def machine() -> str:
    """CPU model, cores, and the stack's versions, in one line."""
    import mmdet
    import torch

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown CPU") \
        if Path("/proc/cpuinfo").is_file() else platform.processor()
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    return (f"{model}, {os.cpu_count()} cores, {gpu}; Python {platform.python_version()}, torch {torch.__version__}, "
            f"mmdet {mmdet.__version__}")


def pretrain_table(work: Path, students: Sequence[tuple[str, str]]) -> Optional[Table]:
    """The ImageNet-stage A/B (final top-1, Δ vs CE) of ``[(work dir name, label), ...]``."""
    runs = [load_run(work / name, label) for name, label in students if (work / name).is_dir()]
    if not runs:
        return None
    header, body = table_columns(summarize(runs, "accuracy/top1"), "accuracy/top1")
    return Table(header, body)


def detection_table(runs: Sequence[tuple[str, str, Path]]) -> Table:
    """``[(detector, backbone init, work dir), ...]`` -> their final checkpoints' test metrics."""
    rows = []
    for detector, backbone, work_dir in runs:
        metrics_file = work_dir / "test" / "test_metrics.json"
        metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
        rows.append([detector, backbone] + [f"{metrics[key]:.3f}" if key in metrics else "—" for key, _ in DET_METRICS])
    return Table(["detector", "backbone init", *[label for _, label in DET_METRICS]], rows)


def side_by_side(pair: PredictionPair, out_dir: Path, count: int = SHOWN_PREDICTIONS) -> list[Path]:
    """Ground truth | student | teacher images: the student's drawing (ground truth | prediction)
    with the teacher's prediction half appended."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for student_file in sorted(pair.student.rglob("*.jpg"))[:count]:
        teacher_file = next(iter(sorted(pair.teacher.rglob(student_file.name))), None)
        if teacher_file is None:
            continue
        student, teacher = np.asarray(PILImage.open(student_file)), np.asarray(PILImage.open(teacher_file))
        if student.shape != teacher.shape:
            continue
        combined = np.concatenate([student, teacher[:, teacher.shape[1] // 2:]], axis=1)
        target = out_dir / f"{student_file.stem}_gt_student_teacher.png"
        PILImage.fromarray(combined).save(target)
        written.append(target)
    return written


def build_report(work: Path, profile: str, seconds: float, steps: Sequence[Step],
                 students: Sequence[tuple[str, str]], detectors: Sequence[tuple[str, str, Path]],
                 predictions: PredictionPair, selectivity: Sequence[tuple[Path, str]]) -> Document:
    """The report of a finished demo in ``work`` (see the module docstring)."""
    doc = Document("nst_det demo report")
    doc.add(Paragraph(f"Profile: {profile}. Ran {len(steps)} steps in {duration(seconds)} on "
                      f"{datetime.date.today().isoformat()}: {machine()}. Generated toy data, single seed: "
                      "read the numbers as 'the pipeline works end to end', not as measured gains "
                      "(one seed on 40 test images; `tools/run_demo.py --seeds 3` runs the detection A/B over seeds)."))
    doc.add(Heading("ImageNet stage: ResNet-34 teacher, ResNet-18 students"))
    table = pretrain_table(work, students)
    doc.add(table if table else Paragraph("(no ImageNet-stage runs)"))
    for path, caption in [(work / "pretrain_curves.png", "ImageNet stage: training loss and validation top-1")]:
        if path.is_file():
            doc.add(Image(path, caption))
    for path, caption in selectivity:
        if path.is_file():
            doc.add(Image(path, caption))
    doc.add(Heading("Detection stage: Faster R-CNN FPN, final checkpoints on the test split"),
            detection_table(detectors))
    if (work / "detection_curves.png").is_file():
        doc.add(Image(work / "detection_curves.png", "Detection stage: training losses and validation VOC mAP"))
    for path in side_by_side(predictions, work / "report_images"):
        doc.add(Image(path, f"{path.stem.split('_gt_')[0]}: ground truth | student | teacher"))
    doc.add(Heading("How each number was made"),
            Paragraph(f"Every step below ran from the repository root; its whole output is in {work / 'logs'}."),
            Code("\n".join(f"# {step.description.strip()}\n{' '.join(step.command[1:])}" for step in steps)))
    return doc
