"""ImageNet-stage step cost: NST distillation vs the teacher forward + student train step it needs anyway.

    python tools/benchmark_pretrain.py                    # GPU if present, else CPU at small sizes
    python tools/benchmark_pretrain.py --device cuda --taps layer3 layer4

Three variants of one SGD step on the same random uint8 batch, all on one ``ClassifierDistiller``
(same weights, same optimizer): the student's CE step alone; the student's step plus the frozen
teacher's forward; and the full distillation step (``ClassifierDistiller.train_step``: the same
teacher forward with feature taps, plus NST on the tapped layers). The last two differ only by the
taps and the NST losses with their backward: the cost the hardening issue bounds
(distill ≤ 1.10 × teacher forward + student step). Images/s of the distillation step are printed.

GPU defaults: ResNet-101 → ResNet-18, batch 256 at 224x224, bf16 autocast, channels_last, 1000
classes. CPU defaults: the same networks, batch 8, float32. ``--taps layer4`` is the official NST
setting (final stage, pre-activation); ``layer3 layer4`` adds the third stage.

End to end from JPEG files (``--data DIR``; a missing DIR is filled with generated 400x400 JPEGs):

    python tools/benchmark_pretrain.py --data /tmp/jpegs --workers 8 [--compile]

measures, interleaved in one run, images/s of each data path — the CPU path (workers decode and
crop with PIL) and the device path (workers read bytes; the batch is decoded and cropped on the
device, ``nst_det/pretrain/device_data.py``) — alone (loader + preprocessing) and through the whole
distillation step, eager and, with ``--compile``, under ``torch.compile``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Iterator, Optional

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
VARIANTS = {
    "student": "student step",
    "teacher": "student step + teacher forward",
    "distill": "student step + teacher forward + NST",
}
PRESETS = {
    "cuda": dict(batch=256, size=224, amp=True, channels_last=True, steps=20, warmup=3),
    "cpu": dict(batch=8, size=224, amp=False, channels_last=False, steps=5, warmup=1),
}


def taps_for(student: str, teacher: str, stages: list[str]) -> list[tuple[str, str]]:
    """Pre-activation taps (``layerN.<last block>.relu:input``) of each stage, student and teacher."""
    import torchvision

    def last_block(arch: str, stage: str) -> int:
        return len(getattr(getattr(torchvision.models, arch)(), stage)) - 1

    return [(f"{stage}.{last_block(student, stage)}.relu:input", f"{stage}.{last_block(teacher, stage)}.relu:input")
            for stage in stages]


def get_args_parser() -> argparse.ArgumentParser:
    parser = add_step_benchmark_args(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]), list(VARIANTS))
    parser.add_argument("--student", default="resnet18")
    parser.add_argument("--teacher", default="resnet101")
    parser.add_argument("--taps", nargs="+", default=["layer4"], choices=["layer1", "layer2", "layer3", "layer4"])
    parser.add_argument("--num-classes", type=int, default=1000)
    parser.add_argument("--batch", type=int, help="images per step")
    parser.add_argument("--size", type=int, help="crop side")
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None, help="bf16 autocast")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--data", type=Path, help="end to end from the JPEGs under DIR/train (generated if missing)")
    parser.add_argument("--workers", type=int, default=2, help="--data: DataLoader workers per data path")
    parser.add_argument("--rounds", type=int, default=3, help="--data: interleaved rounds of --steps steps; median")
    parser.add_argument("--compile", action="store_true", help="--data: also time the step under torch.compile")
    return parser


def build_steps(args: argparse.Namespace) -> tuple[torch.nn.Module, dict[str, Callable[[dict], None]]]:
    """One distiller and a step function per variant, all updating the same student."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    import nst_det.register_all  # noqa: F401  (models, optim wrappers, ...)
    from nst_det.registry import MODELS

    init_default_scope("mmdet")  # BF16OptimWrapper lives in mmdet's registry, as in a Runner
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type="ClassifierDistiller", student=dict(arch=args.student, num_classes=args.num_classes),
        teacher=dict(arch=args.teacher, num_classes=args.num_classes, checkpoint=args.teacher_ckpt),
        distill=dict(taps=taps_for(args.student, args.teacher, args.taps),
                     loss=nst_loss_config(args.loss_weight)),
        channels_last=args.channels_last,
        data_preprocessor=dict(type="ImgDataPreprocessor", mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375])))
    model = model.to(args.device).train()
    wrapper = dict(type="BF16OptimWrapper") if args.amp else dict(type="OptimWrapper")  # what --amp trains with
    optim = build_optim_wrapper(model, dict(**wrapper, optimizer=dict(type="SGD", lr=1e-4, momentum=0.9)))

    def without_nst(data: dict, teacher: bool) -> None:
        """``ClassifierDistiller.train_step`` without taps and NST (and optionally without the teacher)."""
        with optim.optim_context(model):
            data = model.data_preprocessor(data, True)
            inputs = model._prepare(data["inputs"])
            if teacher:
                with torch.no_grad():
                    model.teacher(inputs)
            logits = model.student(inputs)
            loss = torch.nn.functional.cross_entropy(logits.float(), data["data_samples"])
        optim.update_params(loss)

    return model, {"student": lambda data: without_nst(data, teacher=False),
                   "teacher": lambda data: without_nst(data, teacher=True),
                   "distill": lambda data: model.train_step(data, optim), "optim": optim}


def measure(args: argparse.Namespace, variants: list[str]) -> dict[str, dict]:
    """Median step time (interleaved) and peak memory per variant."""
    _, steps = build_steps(args)
    steps.pop("optim")
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randint(0, 256, (args.batch, 3, args.size, args.size), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, args.num_classes, (args.batch,), generator=generator)
    inputs, labels = inputs.to(args.device), labels.to(args.device)  # the step, not the host copy, is measured
    return measure_steps({v: steps[v] for v in variants}, lambda: dict(inputs=inputs, data_samples=labels),
                         args.steps, args.warmup, cuda=args.device == "cuda")


def teacher_checkpoint(args: argparse.Namespace, out: Path) -> Path:
    """Random teacher weights in torchvision layout (speed does not depend on their values)."""
    from nst_det.pretrain.classifiers import build_classifier

    torch.save(build_classifier(args.teacher, args.num_classes).state_dict(), out)
    return out


def child_command(args: argparse.Namespace, variant: str) -> list[str]:
    flags = ["--device", args.device, "--student", args.student, "--teacher", args.teacher, "--taps", *args.taps,
             "--num-classes", str(args.num_classes), "--batch", str(args.batch), "--size", str(args.size),
             "--steps", "1", "--warmup", "1", *loss_weight_flag(args.loss_weight),
             "--amp" if args.amp else "--no-amp", "--channels-last" if args.channels_last else "--no-channels-last"]
    return [sys.executable, __file__, "--variant", variant, "--teacher-ckpt", args.teacher_ckpt, *flags,
            *(["--threads", str(args.threads)] if args.threads else [])]


def format_table(args: argparse.Namespace, rows: dict[str, dict]) -> str:
    device = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    memory = "peak alloc MiB" if args.device == "cuda" else "step RSS MiB"
    precision = "bf16 autocast" if args.amp else "float32"
    lines = [f"{args.teacher} -> {args.student} distillation step on {device}, batch {args.batch} at "
             f"{args.size}x{args.size}, {precision}{', channels_last' if args.channels_last else ''}, "
             f"NST taps {taps_for(args.student, args.teacher, args.taps)}; median of {args.steps} interleaved steps",
             ""]
    return "\n".join(lines + ratio_table(rows, VARIANTS, "teacher", memory, images_per_step=args.batch))


# ----------------------------------------------------------------------------- end to end from files
DATA_PATHS = {"pil": "CPU: PIL decode + crop in the workers",
              "device": "device: workers read bytes, decode + crop on the device"}


def data_loaders(args: argparse.Namespace, root: Path) -> dict[str, torch.utils.data.DataLoader]:
    """One seeded training DataLoader per data path, over the same files."""
    from mmengine.dataset import default_collate
    from torch.utils.data import DataLoader

    from nst_det.engine.seeded_data import SeededSampler
    from nst_det.pretrain.data import ImageFolderDataset
    from nst_det.pretrain.device_data import EncodedImageFolderDataset, encoded_collate

    common = dict(batch_size=args.batch, num_workers=args.workers, persistent_workers=args.workers > 0,
                  pin_memory=args.device == "cuda", drop_last=True)
    pil = ImageFolderDataset(str(root), "train", crop_size=args.size)
    device = EncodedImageFolderDataset(str(root), "train", crop_size=args.size)
    return {"pil": DataLoader(pil, sampler=SeededSampler(pil, seed=0), collate_fn=default_collate, **common),
            "device": DataLoader(device, sampler=SeededSampler(device, seed=0), collate_fn=encoded_collate, **common)}


def endless(loader) -> Iterator:
    while True:
        yield from loader


def end_to_end(args: argparse.Namespace) -> int:
    """Images/s of each data path alone and through the distillation step (see the module docstring)."""
    import statistics
    import tempfile
    import time

    from nst_det.data import make_classification_dataset
    from nst_det.pretrain.device_data import DeviceDecodePreprocessor

    if not (args.data / "train").is_dir():
        per_class = -(-args.batch * args.steps * (args.rounds + 1) * (2 + args.compile) // 5) + args.workers
        print(f"writing {5 * per_class} 400x400 JPEGs to {args.data} ...", flush=True)
        make_classification_dataset(args.data, train_per_class=per_class, val_per_class=1, image_size=400)
    with tempfile.TemporaryDirectory() as tmp:
        args.teacher_ckpt = str(teacher_checkpoint(args, Path(tmp) / "teacher.pth"))
        model, steps = build_steps(args)
    optim = steps["optim"]
    preprocessors = {"pil": model.data_preprocessor,
                     "device": DeviceDecodePreprocessor(crop_size=args.size, mean=[123.675, 116.28, 103.53],
                                                        std=[58.395, 57.12, 57.375]).to(args.device)}
    batches = {path: endless(loader) for path, loader in data_loaders(args, args.data).items()}
    step_fns = {"eager": model.train_step}
    if args.compile:
        step_fns["compile"] = torch.compile(model.train_step)
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)

    def data_only(path: str) -> None:
        preprocessors[path](next(batches[path]), True)

    def step(path: str, mode: str) -> None:
        model.data_preprocessor = preprocessors[path]
        step_fns[mode](next(batches[path]), optim)

    variants = {(path, "data"): (lambda p=path: data_only(p)) for path in DATA_PATHS}
    variants.update({(path, mode): (lambda p=path, m=mode: step(p, m)) for path in DATA_PATHS for mode in step_fns})
    rates = {key: [] for key in variants}
    for round_index in range(args.rounds + 1):  # round 0 warms up (workers, compilation)
        for key, run in variants.items():
            sync()
            start = time.perf_counter()
            for _ in range(args.steps):
                run()
            sync()
            if round_index:
                rates[key].append(args.steps * args.batch / (time.perf_counter() - start))
    device = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"{args.teacher} -> {args.student}, batch {args.batch} of {args.size}px crops from {args.data}, "
          f"{args.workers} workers per path, {'bf16 autocast' if args.amp else 'float32'} on {device}; "
          f"images/s, median of {args.rounds} interleaved rounds of {args.steps} steps\n")
    modes = list(step_fns)
    print("| data path | decode + augment alone | " + " | ".join(f"distillation step, {m}" for m in modes) + " |")
    print("|---|---:|" + "---:|" * len(modes))
    for path, label in DATA_PATHS.items():
        cells = [f"{statistics.median(rates[(path, kind)]):.0f}" for kind in ["data", *modes]]
        print(f"| {label} | " + " | ".join(cells) + " |")
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    args = resolve_preset(get_args_parser().parse_args(argv), PRESETS)
    if args.data is not None:
        if args.threads:
            torch.set_num_threads(args.threads)
        return end_to_end(args)
    return run_step_benchmark(args, VARIANTS, measure, lambda path: teacher_checkpoint(args, path),
                              lambda variant: child_command(args, variant), lambda rows: format_table(args, rows), ROOT)


if __name__ == "__main__":
    sys.exit(main())
