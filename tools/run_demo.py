"""The whole nst_det pipeline on generated demo data, on CPU (``bash scripts/demo.sh``).

    make demo data -> ImageNet stage: ResNet-34 teacher, ResNet-18 students (CE, NST; --full adds KD
    and KD+NST) -> A/B table, curves, selectivity maps -> detection stage: R-34-FPN teacher detector,
    R-18-FPN students (CE backbone / NST backbone / + FPN-<method> for each --methods, default NST and MSE,
    the same teacher) -> VOC mAP and COCO AP per model -> one report: <work dir>/report.md and report.html

    python tools/run_demo.py                      # the default demo (about 20 minutes on 2 cores)
    python tools/run_demo.py --full               # longer schedules, more data, all four students
    python tools/run_demo.py --seeds 3            # the detection A/B over seeds 0, 1, 2: mean ± std per row
    python tools/run_demo.py --seeds 3 --methods nst,mse,pkd,cwd   # ... with every FPN method of the comparison

Every step is one of the project's own tools run as a subprocess, exactly as a user would run it; the
terminal shows one line per step (``--verbose``: the tools' whole output) and each step's output is
kept in ``<work dir>/logs/``. A step whose result already exists is skipped, so an interrupted demo
continues where it stopped; ``--fresh`` starts over. With ``--seeds N`` only what the detection A/B
needs runs (data, the teacher, the CE and NST backbones, the teacher detector), then each detection row
once per seed (``randomness.seed``), and the table of final-epoch test metrics over seeds is printed
and written to ``<work dir>/seeds_ab.md``. ``--tiny`` shrinks data and schedules to a smoke test.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from nst_det.reporting import seed_table

from _lib.demo_report import PredictionPair, build_report
from _lib.steps import Step, StepFailed, duration, run_steps

ROOT = Path(__file__).resolve().parents[1]

PRETRAIN = "configs/distill/imagenet"  # <method>/<config>
DET = "configs/detection/demo"
FPN_METHODS = "configs/distill/mmdet"  # <method>/<method>-fpn_frcnn-r34_frcnn-r18_8e_demo.py
METHOD_LABELS = {"nst": "NST", "mse": "MSE", "pkd": "PKD", "cwd": "CWD"}  # the FPN methods the demo can compare
DEFAULT_METHODS = ("nst", "mse")
SEED_METRICS = (("pascal_voc/mAP", "VOC mAP"), ("coco/bbox_mAP", "COCO AP"))


@dataclass(frozen=True)
class Student:
    """An ImageNet-stage student: work dir name, config, label, whether it learns from the teacher."""

    name: str
    config: str
    label: str
    distilled: bool


@dataclass(frozen=True)
class DetRow:
    """One detector of the detection A/B: its work dir name, config (from the repository root), backbone run and
    label."""

    name: str
    config: str
    backbone: str  # the ImageNet-stage run whose backbone_resnet18.pth initialises it
    label: str
    distilled: bool  # trained from the teacher detector


STUDENTS = (Student("baseline_r18", "ce/ce_r18_8e_demo.py", "CE", False),
            Student("kd_r18", "kd/kd_r34_r18_8e_demo.py", "KD", True),
            Student("nst_r18", "nst/nst_r34_r18_8e_demo.py", "NST", True),
            Student("kd_nst_r18", "kd-nst/kd-nst_r34_r18_8e_demo.py", "KD+NST", True))
STUDENT_LABELS = {s.name: s.label for s in STUDENTS}
BACKBONE_ROWS = (
    DetRow("det_baseline", f"{DET}/faster-rcnn_r18_fpn_ce-backbone_8e_demo.py", "baseline_r18", "CE backbone",
           False),
    DetRow("det_nst_backbone", f"{DET}/faster-rcnn_r18_fpn_nst-backbone_8e_demo.py", "nst_r18", "NST backbone",
           False),
)


def fpn_row(method: str) -> DetRow:
    """The NST-backbone student distilled on its FPN from the teacher detector with ``method``."""
    label = f"NST backbone + FPN-{METHOD_LABELS[method]}" + ("" if method == "nst" else " (same teacher)")
    return DetRow("det_nst_fpn" if method == "nst" else f"det_fpn_{method}",
                  f"{FPN_METHODS}/{method}/{method}-fpn_frcnn-r34_frcnn-r18_8e_demo.py", "nst_r18", label, True)


def det_rows(methods: tuple[str, ...] = DEFAULT_METHODS) -> tuple[DetRow, ...]:
    """The detection A/B: the two backbone rows, then one FPN row per method."""
    return BACKBONE_ROWS + tuple(fpn_row(m) for m in methods)


def parse_methods(text: str) -> tuple[str, ...]:
    """``'nst,mse,pkd'`` -> ``('nst', 'mse', 'pkd')``; unknown or repeated names are an error."""
    methods = tuple(m.strip() for m in text.split(",") if m.strip())
    unknown = [m for m in methods if m not in METHOD_LABELS]
    if unknown or not methods or len(set(methods)) != len(methods):
        raise argparse.ArgumentTypeError(f"--methods takes distinct names among {','.join(METHOD_LABELS)}, "
                                         f"got {text!r}")
    return methods


def _det_scale(width: int, height: int) -> tuple[str, ...]:
    """``--cfg-options`` resizing every detection pipeline to ``(width, height)`` (demo configs' Resize steps)."""
    return tuple(f"{loader}.dataset.pipeline.{index}.scale=({width},{height})"
                 for loader, index in (("train_dataloader", 2), ("val_dataloader", 1), ("test_dataloader", 1)))


def _det_epochs(epochs: int, warmup_iters: int) -> tuple[str, ...]:
    """``--cfg-options`` for a short detection schedule: linear warm-up, then the full lr to the end
    (``configs/_base_/det_demo_voc.py``: LinearLR, then MultiStepLR, validation and checkpoint at the end)."""
    return (f"train_cfg.max_epochs={epochs}", f"train_cfg.val_interval={epochs}",
            f"default_hooks.checkpoint.interval={epochs}", f"param_scheduler.0.end={warmup_iters}",
            f"param_scheduler.1.end={epochs}", f"param_scheduler.1.milestones=[{epochs}]")


WORKERS_OFF = ("num_workers=0", "persistent_workers=False")


@dataclass(frozen=True)
class Profile:
    """Data, schedules and runs of one demo size."""

    students: tuple[str, ...]          # names in STUDENTS
    data: tuple[str, ...] = ()         # extra tools/make_demo_data.py flags
    pretrain: tuple[str, ...] = ()     # extra --cfg-options of every ImageNet-stage run
    det: tuple[str, ...] = ()          # extra --cfg-options of every student detector
    det_epochs: int = 8
    det_teacher: tuple[str, ...] = ()  # extra --cfg-options of the teacher detector
    det_teacher_epochs: int = 8
    crop: tuple[int, int] = (64, 72)   # ImageNet-stage crop and validation resize (selectivity maps)
    scale: float = 1.0                 # step costs relative to the default's (for the ETA)


FULL = Profile(students=("baseline_r18", "kd_r18", "nst_r18", "kd_nst_r18"), scale=2.5)
# Under 20 minutes on 2 cores: 600 instead of 1000 ImageNet-stage images (the teacher keeps its 12
# epochs, so it stays the better network), two students; every detector at 192x144 instead of 256x192,
# the teacher detector on its full 8-epoch schedule, the student detectors 4 epochs (20 warm-up
# iterations, no lr drop).
DEFAULT = Profile(students=("baseline_r18", "nst_r18"), data=("--train-per-class", "120"),
                  det=(*_det_scale(192, 144), *_det_epochs(4, warmup_iters=20)), det_epochs=4,
                  det_teacher=_det_scale(192, 144))
# one-epoch teachers on a handful of images score near chance: the tiny run does not check them (teacher_check)
TINY_DET = ("train_cfg.max_epochs=1", "default_hooks.checkpoint.interval=1", "train_dataloader.batch_size=2",
            "teacher_check=False",
            *[f"{loader}.{option}" for loader in ("train_dataloader", "val_dataloader", "test_dataloader")
              for option in WORKERS_OFF])
TINY = Profile(
    students=("baseline_r18", "nst_r18"),
    data=("--train-per-class", "4", "--val-per-class", "2", "--image-size", "40", "--num-trainval", "4",
          "--num-test", "2", "--det-size", "96", "128"),
    pretrain=("train_cfg.max_epochs=1", "train_cfg.val_interval=1", "default_hooks.checkpoint.interval=1",
              "teacher_check=False",
              "train_dataloader.batch_size=4", "train_dataloader.dataset.crop_size=32",
              "val_dataloader.dataset.crop_size=32", "val_dataloader.dataset.resize_size=36",
              *[f"{loader}.{option}" for loader in ("train_dataloader", "val_dataloader") for option in WORKERS_OFF]),
    det=TINY_DET, det_epochs=1, det_teacher=TINY_DET, det_teacher_epochs=1, crop=(32, 36), scale=0.1)


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def top1_of(run: Path, arch: str):
    """Headline of an ImageNet-stage run: its final top-1 (from the backbone export's sidecar)."""
    return lambda: f"top-1 {_json(run / f'backbone_{arch}.json')['val']['accuracy/top1']:.1f}"


def test_metrics_of(run: Path):
    def headline() -> str:
        metrics = _json(run / "test" / "test_metrics.json")
        return f"VOC mAP {metrics['pascal_voc/mAP']:.3f}, COCO AP {metrics['coco/bbox_mAP']:.3f}"
    return headline


def pretrain_step(student: Student, description: str, config: str, work: Path, data: Path, arch: str,
                  profile: Profile, cost: float) -> Step:
    teacher = work / "teacher_r34" / "classifier_resnet34.pth"
    extra = [f"teacher_checkpoint={teacher}"] if student.distilled else []
    out = work / student.name
    return Step(student.name, description,
                [sys.executable, "tools/pretrain_backbone.py", f"{PRETRAIN}/{config}", "--work-dir", str(out),
                 "--cfg-options", f"data_root={data}/imagenet/", *profile.pretrain, *extra],
                done=out / f"backbone_{arch}.json", headline=top1_of(out, arch), cost=cost * profile.scale)


def det_steps(name: str, description: str, config: str, out: Path, data: Path, backbone: Path,
              schedule: tuple[tuple[str, ...], int], cost: float, teacher: Optional[Path] = None,
              seed: Optional[int] = None, show_dir: Optional[Path] = None) -> list[Step]:
    """Train one demo detector into ``out`` (``schedule``: its ``--cfg-options`` and epochs), then test its
    final checkpoint (VOC mAP and COCO AP)."""
    extra, epochs = schedule
    options = [f"data_root={data}/VOCdevkit/", f"backbone_checkpoint={backbone}", *extra]
    if teacher is not None:
        options.append(f"teacher_checkpoint={teacher}")
    if seed is not None:
        options.append(f"randomness.seed={seed}")
    test = [sys.executable, "tools/test_det.py", config, str(out), "--coco-ap",
            "--work-dir", str(out / "test"), "--cfg-options", *options]
    if show_dir is not None:
        test += ["--show-dir", str(show_dir)]
    return [Step(name, description, [sys.executable, "tools/train_det.py", config, "--work-dir",
                                     str(out), "--cfg-options", *options],
                 done=out / f"epoch_{epochs}.pth", cost=cost),
            Step(f"test {name}", "  test it (VOC mAP, COCO AP)", test, done=out / "test" / "test_metrics.json",
                 headline=test_metrics_of(out), cost=10)]


def data_step(data: Path, profile: Profile) -> Step:
    return Step("demo data", "demo data: ImageNet, VOC and COCO layouts",
                [sys.executable, "tools/make_demo_data.py", "--out", str(data), *profile.data],
                done=data / "coco" / "annotations" / "instances_val.json", cost=5)


def teacher_steps(work: Path, data: Path, profile: Profile) -> list[Step]:
    """The ImageNet-stage teacher."""
    teacher = Student("teacher_r34", "ce/ce_r34_12e_demo.py", "teacher", False)
    return [pretrain_step(teacher, "teacher ResNet-34 (CE)", teacher.config, work, data, "resnet34",
                          profile, 100)]


def teacher_det_steps(work: Path, data: Path, profile: Profile, show_dir: Optional[Path] = None) -> list[Step]:
    return det_steps("det_teacher_r34", "teacher detector R-34-FPN",
                     f"{DET}/faster-rcnn_r34_fpn_ce-backbone_8e_demo.py", work / "det_teacher_r34", data,
                     work / "teacher_r34" / "backbone_resnet34.pth",
                     (profile.det_teacher, profile.det_teacher_epochs), 200 * profile.scale, show_dir=show_dir)


def selectivity_step(work: Path, data: Path, student: Student, profile: Profile) -> Step:
    out = work / f"selectivity_{student.name}.png"
    image = data / "imagenet" / "val" / "circle" / "circle_00000.JPEG"
    return Step(f"selectivity {student.name}", f"selectivity maps: teacher vs {student.label} student",
                [sys.executable, "tools/visualize_selectivity.py", str(image), "--teacher",
                 str(work / "teacher_r34" / "classifier_resnet34.pth"), "--teacher-arch", "resnet34",
                 "--student", str(work / student.name / "backbone_resnet18.pth"), "--student-arch", "resnet18",
                 "--num-classes", "5", "--crop", str(profile.crop[0]), "--resize", str(profile.crop[1]),
                 "--out", str(out)], done=out, cost=12)


def build_steps(work: Path, profile: Profile = DEFAULT, methods: tuple[str, ...] = DEFAULT_METHODS) -> list[Step]:
    """The demo: the profile's ImageNet-stage students, one run of every detection row, the comparisons."""
    data = work / "data"
    students = [s for s in STUDENTS if s.name in profile.students]
    steps = [data_step(data, profile), *teacher_steps(work, data, profile)]
    for student in students:
        what = "CE only" if not student.distilled else "R-34 -> R-18"
        steps.append(pretrain_step(student, f"{student.label} student ({what})", student.config, work, data,
                                   "resnet18", profile, 45 if not student.distilled else 60))
    steps.append(Step("pretrain_ab", "ImageNet-stage A/B curves",
                      [sys.executable, "tools/compare_runs.py", *[str(work / s.name) for s in students],
                       "--names", *[s.label for s in students], "--plot", str(work / "pretrain_curves.png")],
                      cost=8))
    steps += [selectivity_step(work, data, s, profile) for s in students if s.name in ("baseline_r18", "nst_r18")]
    steps += teacher_det_steps(work, data, profile, show_dir=work / "predictions_teacher")
    rows = det_rows(methods)
    for row in rows:
        steps += det_steps(row.name, f"R-18-FPN detector: {row.label.replace(' (same teacher)', '')}",
                           row.config, work / row.name, data,
                           work / row.backbone / "backbone_resnet18.pth", (profile.det, profile.det_epochs),
                           (140 if row.distilled else 110) * profile.scale,
                           work / "det_teacher_r34" if row.distilled else None,
                           show_dir=work / "predictions_student" if row.name == "det_nst_fpn" else None)
    steps.append(Step("detection_ab", "detection A/B curves",
                      [sys.executable, "tools/compare_runs.py", *[str(work / row.name) for row in rows],
                       "--names", *[row.label for row in rows], "--metric", "pascal_voc/mAP",
                       "--plot", str(work / "detection_curves.png")], cost=8))
    return steps


def seed_dir(work: Path, seed: int, row: DetRow) -> Path:
    return work / f"seed{seed}" / row.name


def build_seed_steps(work: Path, seeds: int, profile: Profile = FULL,
                     methods: tuple[str, ...] = DEFAULT_METHODS) -> list[Step]:
    """What the detection A/B over ``seeds`` seeds needs: shared backbones and teacher, then every row per seed."""
    data = work / "data"
    steps = [data_step(data, profile), *teacher_steps(work, data, profile)]
    steps += [pretrain_step(s, f"{s.label} student ResNet-18", s.config, work, data, "resnet18", profile, 100)
              for s in STUDENTS if s.name in ("baseline_r18", "nst_r18")]
    steps += teacher_det_steps(work, data, profile)
    steps += [step for seed in range(seeds) for row in det_rows(methods)
              for step in det_steps(f"{row.name} seed {seed}", f"detector: {row.label}, seed {seed}", row.config,
                                    seed_dir(work, seed, row), data, work / row.backbone / "backbone_resnet18.pth",
                                    (profile.det, profile.det_epochs), 160 * profile.scale,
                                    work / "det_teacher_r34" if row.distilled else None, seed=seed)]
    return steps


def seeds_report(work: Path, seeds: int, methods: tuple[str, ...] = DEFAULT_METHODS) -> str:
    """The markdown table of final-epoch test metrics, mean ± std over the seeds, one line per row."""
    results = {row.label: [_json(seed_dir(work, seed, row) / "test" / "test_metrics.json") for seed in range(seeds)]
               for row in det_rows(methods)}
    return seed_table(results, SEED_METRICS)


def write_report(work: Path, steps: list[Step], profile: Profile, profile_name: str, seconds: float,
                 methods: tuple[str, ...] = DEFAULT_METHODS) -> Path:
    """``report.md`` and ``report.html`` in ``work``, from the finished runs; returns the HTML path."""
    students = [(s.name, s.label) for s in STUDENTS if s.name in profile.students]
    detectors = [("teacher R-34-FPN", "CE ResNet-34", work / "det_teacher_r34")] + [
        (f"R-18-FPN: {row.label}", f"{STUDENT_LABELS[row.backbone]} ResNet-18", work / row.name)
        for row in det_rows(methods)]
    selectivity = [(work / f"selectivity_{name}.png", f"Selectivity maps of one validation image at layer4: "
                                                      f"teacher (top rows) vs the {label} student")
                   for name, label in students if name in ("baseline_r18", "nst_r18")]
    doc = build_report(work, profile_name, seconds, steps, students, detectors,
                       PredictionPair(work / "predictions_student", work / "predictions_teacher"), selectivity)
    _, page = doc.write(work / "report")
    return page


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-dir", default="work_dirs/demo", help="where data, runs, logs and the report go")
    parser.add_argument("--fresh", action="store_true", help="delete the work dir first")
    parser.add_argument("--verbose", action="store_true", help="show every tool's whole output")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true", help="the long demo: more data, longer schedules, 4 students")
    size.add_argument("--tiny", action="store_true", help="tiny data and one-epoch schedules: a smoke test")
    parser.add_argument("--seeds", type=int, metavar="N",
                        help="run the detection A/B (same teacher) over seeds 0..N-1 and print mean ± std")
    parser.add_argument("--methods", type=parse_methods, default=DEFAULT_METHODS, metavar="M,M,...",
                        help=f"the FPN distillation rows of the detection A/B, among {','.join(METHOD_LABELS)} "
                             f"(default {','.join(DEFAULT_METHODS)}); each is "
                             f"{FPN_METHODS}/<method>/<method>-fpn_frcnn-r34_frcnn-r18_8e_demo.py")
    args = parser.parse_args(argv)
    if args.seeds is not None and args.seeds < 1:
        parser.error("--seeds must be at least 1")

    work = (ROOT / args.work_dir).resolve()
    if args.fresh and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    profile_name = "tiny" if args.tiny else "full" if args.full or args.seeds else "default"
    profile = {"tiny": TINY, "full": FULL, "default": DEFAULT}[profile_name]
    steps = (build_steps(work, profile, args.methods) if args.seeds is None
             else build_seed_steps(work, args.seeds, profile, args.methods))
    print(f"nst_det demo ({profile_name}): {len(steps)} steps; logs in {work / 'logs'}", flush=True)
    try:
        seconds = run_steps(steps, ROOT, work / "logs", verbose=args.verbose)
    except StepFailed as exc:
        print(f"error: {exc}; fix it and rerun to continue from this step", file=sys.stderr)
        return 1
    if args.seeds is not None:
        table = seeds_report(work, args.seeds, args.methods)
        (work / "seeds_ab.md").write_text(table + "\n")
        print(f"\nDetection A/B, final-epoch test metrics over {args.seeds} seed(s):\n{table}")
        return 0
    page = write_report(work, steps, profile, profile_name, seconds, args.methods)
    print(f"finished in {duration(seconds)}; report: {page} (and {page.with_suffix('.md').name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
