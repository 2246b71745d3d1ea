"""Train-step cost of NST on FPN levels: Faster R-CNN with vs without NST, teacher forward in both.

    python tools/benchmark_det.py                  # GPU if present, else CPU at demo sizes
    python tools/benchmark_det.py --device cpu --steps 5

Three variants of one step on the same random batch, all on one ``NSTDistillDetector`` (same
weights, same optimizer): the student's train step alone; the student's step plus the frozen
teacher's forward (what NST needs before any loss); and the full NST step
(``NSTDistillDetector.train_step``: the same teacher forward plus NST on ``--levels``, by default
P2-P5 as in the shipped configs). The last two
differ only by the NST losses and their backward: the cost the issue targets (<= 15 % time,
<= 10 % memory on a GPU). Steps are interleaved (A, B, C, A, B, C, ...) so that a busy machine
slows all variants alike; the median is reported.

Memory: on a GPU, the peak of ``torch.cuda.max_memory_allocated`` over each variant's steps; on
CPU, each variant runs again in a fresh process (glibc set to unmap freed blocks at once, so the
resident set follows the live tensors) and reports its peak resident set size during a step minus
the resident size before it (the step's working memory).

GPU defaults: mmdet's R-50-FPN student and R-101-FPN teacher, batch 8 at 800x1333, fp16 autocast
(the reference setting of the issue). CPU defaults: the demo R-18-FPN student and R-34-FPN teacher,
batch 2 at 192x256, float32.
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Callable, Optional

import torch

from _lib.benchmark import (
    add_step_benchmark_args,
    loss_weight_flag,
    measure_steps,
    nst_loss_config,
    ratio_table,
    resolve_preset,
    run_step_benchmark,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LEVELS = ("p2", "p3", "p4", "p5")  # the shipped FPN-distillation configs' levels


def variant_labels(levels: list[str]) -> dict[str, str]:
    span = levels[0].upper() if len(levels) == 1 else f"{levels[0].upper()}-{levels[-1].upper()}"
    return {"student": "student step", "teacher": "student step + teacher forward",
            "nst": f"student step + teacher forward + NST {span}"}
PRESETS = {
    "cuda": dict(student="mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py",
                 teacher="mmdet::faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py",
                 batch=8, size=(800, 1333), amp=True, steps=20, warmup=3),
    "cpu": dict(student=str(ROOT / "configs/detection/demo/faster-rcnn_r18_fpn_ce-backbone_8e_demo.py"),
                teacher=str(ROOT / "configs/detection/demo/faster-rcnn_r34_fpn_ce-backbone_8e_demo.py"),
                batch=2, size=(192, 256), amp=False, steps=5, warmup=1),
}


def get_args_parser() -> argparse.ArgumentParser:
    parser = add_step_benchmark_args(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]),
                                     list(variant_labels(list(DEFAULT_LEVELS))))
    parser.add_argument("--student", help="student detector config (default: per device, see above)")
    parser.add_argument("--teacher", help="teacher detector config (default: per device)")
    parser.add_argument("--batch", type=int, help="images per step")
    parser.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), help="image size")
    parser.add_argument("--levels", nargs="+", default=list(DEFAULT_LEVELS), metavar="LEVEL",
                        help="FPN levels NST distils (default: p2 p3 p4 p5, as the shipped configs)")
    return parser


# ----------------------------------------------------------------------------- one variant
def random_batch(batch: int, size: tuple[int, int], num_classes: int, seed: int = 0) -> dict:
    """``{'inputs': [uint8 (3, H, W)], 'data_samples': [DetDataSample]}`` with 1-8 random boxes each."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    generator = torch.Generator().manual_seed(seed)
    height, width = size
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(torch.randint(0, 256, (3, height, width), dtype=torch.uint8, generator=generator))
        n = int(torch.randint(1, 9, (1,), generator=generator))
        xy = torch.rand(n, 2, generator=generator) * torch.tensor([width * 0.7, height * 0.7])
        wh = (0.1 + 0.2 * torch.rand(n, 2, generator=generator)) * torch.tensor([width, height])
        sample = DetDataSample(metainfo=dict(img_shape=size, ori_shape=size, scale_factor=(1.0, 1.0),
                                             pad_shape=size))
        sample.gt_instances = InstanceData(bboxes=torch.cat([xy, xy + wh], 1),
                                           labels=torch.randint(0, num_classes, (n,), generator=generator))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def build_steps(args: argparse.Namespace) -> tuple[torch.nn.Module, dict[str, Callable[[dict], None]]]:
    """One distiller and a step function per variant, all updating the same student."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    import nst_det.register_all  # noqa: F401  (models, optim wrappers, ...)
    from nst_det.det import load_model_config
    from nst_det.registry import MODELS

    init_default_scope("mmdet")
    torch.manual_seed(0)
    student_cfg = load_model_config(args.student, what="student config")
    student_cfg.backbone.init_cfg = None
    model = MODELS.build(dict(
        type="NSTDistillDetector", student=student_cfg,
        teacher=dict(config=args.teacher, checkpoint=args.teacher_ckpt),
        distill=dict(taps=tuple(args.levels),
                     loss=nst_loss_config(args.loss_weight))))
    model = model.to(args.device).train()
    wrapper = dict(type="AmpOptimWrapper", dtype="float16") if args.amp else dict(type="OptimWrapper")
    optim = build_optim_wrapper(model, dict(**wrapper, optimizer=dict(type="SGD", lr=1e-4, momentum=0.9)))

    def without_nst(data: dict, teacher: bool) -> None:
        """``NSTDistillDetector.train_step`` without the NST losses (and optionally the teacher)."""
        with optim.optim_context(model):
            data = model.data_preprocessor(data, True)
            losses = model.student.loss(data["inputs"], data["data_samples"])
            if teacher:
                model.teacher_features(data["inputs"])
        loss, _ = model.parse_losses(losses)
        optim.update_params(loss)

    return model, {"student": lambda data: without_nst(data, teacher=False),
                   "teacher": lambda data: without_nst(data, teacher=True),
                   "nst": lambda data: model.train_step(data, optim)}


def measure(args: argparse.Namespace, variants: list[str]) -> dict[str, dict]:
    """Median step time (interleaved) and peak memory per variant."""
    model, steps = build_steps(args)
    batch = random_batch(args.batch, tuple(args.size), model.student.roi_head.bbox_head.num_classes)
    return measure_steps({v: steps[v] for v in variants}, lambda: copy.deepcopy(batch), args.steps, args.warmup,
                         cuda=args.device == "cuda")


# ----------------------------------------------------------------------------- driver
def teacher_checkpoint(teacher: str, out: Path) -> Path:
    """Random teacher backbone + neck weights (speed does not depend on their values)."""
    from mmengine.registry import init_default_scope

    import nst_det.register_all  # noqa: F401  (models, optim wrappers, ...)
    from nst_det.det import load_model_config
    from nst_det.registry import MODELS
    init_default_scope("mmdet")
    model = MODELS.build(load_model_config(teacher))
    torch.save({k: v for k, v in model.state_dict().items() if k.startswith(("backbone.", "neck."))}, out)
    return out


def child_command(args: argparse.Namespace, variant: str) -> list[str]:
    return [sys.executable, __file__, "--variant", variant, "--teacher-ckpt", args.teacher_ckpt,
            "--device", args.device, "--student", args.student, "--teacher", args.teacher,
            "--batch", str(args.batch), "--size", *map(str, args.size), "--levels", *args.levels,
            "--steps", "1", "--warmup", "1",
            *loss_weight_flag(args.loss_weight), *(["--threads", str(args.threads)] if args.threads else [])]


def format_table(args: argparse.Namespace, rows: dict[str, dict]) -> str:
    device = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    memory = "peak alloc MiB" if args.device == "cuda" else "step RSS MiB"
    lines = [f"Faster R-CNN train step on {device}, batch {args.batch} at {args.size[0]}x{args.size[1]}, "
             f"{'fp16 autocast' if args.amp else 'float32'}; median of {args.steps} interleaved steps",
             f"student {args.student}", f"teacher {args.teacher}", ""]
    return "\n".join(lines + ratio_table(rows, variant_labels(args.levels), "teacher", memory))


def main(argv: Optional[list[str]] = None) -> int:
    args = resolve_preset(get_args_parser().parse_args(argv), PRESETS)
    return run_step_benchmark(args, variant_labels(args.levels), measure,
                              lambda path: teacher_checkpoint(args.teacher, path),
                              lambda variant: child_command(args, variant), lambda rows: format_table(args, rows), ROOT)


if __name__ == "__main__":
    sys.exit(main())
