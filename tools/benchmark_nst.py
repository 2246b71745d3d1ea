"""Benchmark the NST loss against the formulations public implementations use.

Forward+backward time and extra peak memory, measured side by side in one run (interleaved
repeats, median time), at ImageNet-stage sizes (ResNet-18 vs ResNet-101 layer3/layer4) and at
FPN sizes (P2..P6 of one 800x1333 batch of two). Formulations:

* ``ours``      — ``nst_det.losses.nst_loss`` (poly d=2, automatic Gram form).
* ``channel``   — plain ``C×C`` batched-matmul form (S·Sᵀ, T·Tᵀ, S·Tᵀ), whatever HW is.
* ``broadcast`` — ``(a.unsqueeze(1) * b.unsqueeze(2)).sum(-1)``, materialising ``(B, Cs, Ct, HW)``.

A formulation whose estimated memory exceeds the budget is reported as skipped, not run.

    python tools/benchmark_nst.py                   # CPU, and CUDA too when available
    python tools/benchmark_nst.py --device cpu --repeats 5 --markdown

CPU peak memory is the process's peak RSS (``VmHWM``, reset through ``/proc/self/clear_refs``)
above the RSS before the step; the script re-executes itself with glibc's mmap threshold pinned
so freed buffers really leave the process. CUDA peak memory is ``torch.cuda.max_memory_allocated``.
"""
from __future__ import annotations

import argparse
import gc
import os
import re
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.nn.functional as F

from nst_det.losses import nst_loss

MiB = 1024 ** 2
MMAP_ENV = "MALLOC_MMAP_THRESHOLD_"


@dataclass(frozen=True)
class Case:
    name: str
    student: tuple[int, int, int, int]  # (B, Cs, H, W)
    teacher: tuple[int, int, int, int]  # (B, Ct, H, W)
    baseline: str                       # the formulation the target ratio is stated against


def imagenet_cases(batch: int) -> list[Case]:
    return [
        Case("layer3 R18/R101", (batch, 256, 14, 14), (batch, 1024, 14, 14), "channel"),
        Case("layer4 R18/R101", (batch, 512, 7, 7), (batch, 2048, 7, 7), "channel"),
    ]


def fpn_cases(batch: int = 2) -> list[Case]:
    # 800x1333 padded to 800x1344 (divisible by 32), strides 4..64
    sizes = {"P2": (200, 336), "P3": (100, 168), "P4": (50, 84), "P5": (25, 42), "P6": (13, 21)}
    return [Case(f"FPN {level}", (batch, 256, h, w), (batch, 256, h, w), "broadcast")
            for level, (h, w) in sizes.items()]


# ----------------------------------------------------------------------------- formulations
def _maps(x: torch.Tensor) -> torch.Tensor:
    return F.normalize(x.flatten(2), dim=2)


def channel_gram_mmd(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Poly d=2 MMD² via the three C×C Grams, regardless of HW (the plain matmul form)."""
    s, t = _maps(student), _maps(teacher.detach())
    ss = torch.bmm(s, s.transpose(1, 2)).pow(2).mean((1, 2))
    tt = torch.bmm(t, t.transpose(1, 2)).pow(2).mean((1, 2))
    st = torch.bmm(s, t.transpose(1, 2)).pow(2).mean((1, 2))
    return 0.5 * (ss + tt - 2 * st).mean()


def broadcast_mmd(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Poly d=2 MMD² as several public ports write it: a (B, Ca, Cb, HW) product per term."""
    s, t = _maps(student), _maps(teacher.detach())

    def kernel_mean(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (a.unsqueeze(1) * b.unsqueeze(2)).sum(-1).pow(2).mean((1, 2))

    return 0.5 * (kernel_mean(s, s) + kernel_mean(t, t) - 2 * kernel_mean(s, t)).mean()


def ours(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    return nst_loss(student, teacher, "poly", loss_weight=1.0, check_finite=False)


FORMULATIONS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "ours": ours, "channel": channel_gram_mmd, "broadcast": broadcast_mmd}


def estimated_bytes(method: str, case: Case) -> int:
    """Rough peak extra bytes of one fwd+bwd (float32), to skip what cannot fit."""
    b, cs, h, w = case.student
    ct, hw = case.teacher[1], h * w
    if method == "broadcast":  # the largest product, plus its gradient and the multiply's grad temp
        return 3 * 4 * b * max(cs, ct) ** 2 * hw
    if method == "channel":
        return 3 * 4 * b * (cs * cs + ct * ct + cs * ct) + 8 * b * (cs + ct) * hw
    return 3 * 4 * b * min(cs * cs + ct * ct + cs * ct, hw * hw) + 8 * b * (cs + ct) * hw


# ----------------------------------------------------------------------------- measurement
def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        return int(re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M).group(1))


class MemoryProbe:
    """Extra peak bytes of a region: CUDA allocator stats, or Linux peak RSS on CPU."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def start(self) -> None:
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
        else:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # resets VmHWM to the current RSS
            self.base = _status_kib("VmRSS") * 1024

    def stop(self) -> int:
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            return torch.cuda.max_memory_allocated() - self.base
        return _status_kib("VmHWM") * 1024 - self.base


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def step(fn, student: torch.Tensor, teacher: torch.Tensor) -> None:
    student.grad = None
    fn(student, teacher).backward()


def run_case(case: Case, methods: list[str], device: torch.device, repeats: int,
             budget: int) -> dict[str, Optional[dict]]:
    gen = torch.Generator(device="cpu").manual_seed(0)
    student = torch.randn(case.student, generator=gen).to(device).requires_grad_()
    teacher = torch.randn(case.teacher, generator=gen).to(device)
    runnable = [m for m in methods if estimated_bytes(m, case) <= budget]
    results: dict[str, Optional[dict]] = {m: None for m in methods}
    probe = MemoryProbe(device)
    for method in runnable:  # warm-up and peak memory, one method at a time
        fn = FORMULATIONS[method]
        step(fn, student, teacher)
        _sync(device)
        probe.start()
        step(fn, student, teacher)
        results[method] = {"mem": probe.stop(), "times": []}
    for _ in range(repeats):  # interleaved timing
        for method in runnable:
            _sync(device)
            start = time.perf_counter()
            step(FORMULATIONS[method], student, teacher)
            _sync(device)
            results[method]["times"].append(time.perf_counter() - start)
    for method in runnable:
        results[method]["ms"] = 1e3 * statistics.median(results[method]["times"])
    return results


def memory_budget(device: torch.device, fraction: float) -> int:
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info()
        return int(free * fraction)
    return int(_meminfo_kib("MemAvailable") * 1024 * fraction)


def _meminfo_kib(field: str) -> int:
    with open("/proc/meminfo") as f:
        return int(re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M).group(1))


def machine_description(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}"
    return (f"CPU, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, "
            f"{_meminfo_kib('MemTotal') / MiB:.0f} GiB RAM, torch {torch.__version__}")


def format_table(rows: list[tuple[Case, dict]], methods: list[str]) -> list[str]:
    header = ["case", "student vs teacher"]
    for m in methods:
        header += [f"{m} ms", f"{m} MiB"]
    header += ["speed-up vs baseline", "memory ratio vs baseline"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for case, res in rows:
        cells = [case.name, f"{case.student} vs {case.teacher}"]
        for m in methods:
            r = res[m]
            if r is None:
                need = estimated_bytes(m, case) / 1024 ** 3
                cells += [f"skipped (needs ≈{need:.0f} GiB)", "—"]
            else:
                cells += [f"{r['ms']:.1f}", f"{r['mem'] / MiB:.1f}"]
        base, mine = res.get(case.baseline), res["ours"]
        if base is None or mine is None:
            cells += ["—", "—"]
        else:
            cells += [f"{base['ms'] / mine['ms']:.1f}× vs {case.baseline}",
                      f"{base['mem'] / max(mine['mem'], 1):.0f}× vs {case.baseline}"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="auto: CPU, then CUDA when available")
    parser.add_argument("--repeats", type=int, default=5, help="timed fwd+bwd steps per formulation")
    parser.add_argument("--cpu-batch", type=int, default=64, help="ImageNet-stage batch on CPU")
    parser.add_argument("--gpu-batch", type=int, default=256, help="ImageNet-stage batch on GPU")
    parser.add_argument("--memory-fraction", type=float, default=0.5,
                        help="skip a formulation whose estimated memory exceeds this share of free memory")
    parser.add_argument("--only", choices=["imagenet", "fpn"], help="run one group of cases")
    args = parser.parse_args(argv)

    if sys.platform.startswith("linux") and MMAP_ENV not in os.environ:
        # pin glibc's mmap threshold so freed large buffers leave RSS (honest CPU peak memory)
        os.environ[MMAP_ENV] = str(128 * 1024)
        os.execv(sys.executable, [sys.executable, *sys.argv])

    devices = [torch.device("cpu")] if args.device in ("auto", "cpu") else []
    if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            parser.error("--device cuda: CUDA is not available")
        devices.append(torch.device("cuda"))

    methods = list(FORMULATIONS)
    for device in devices:
        batch = args.gpu_batch if device.type == "cuda" else args.cpu_batch
        cases = ([] if args.only == "fpn" else imagenet_cases(batch)) + \
                ([] if args.only == "imagenet" else fpn_cases())
        budget = memory_budget(device, args.memory_fraction)
        print(f"\n### {machine_description(device)}")
        print(f"poly kernel d=2, fwd+bwd, median of {args.repeats}; memory budget "
              f"{budget / 1024 ** 3:.1f} GiB; baseline for ratios: C×C matmul at ImageNet sizes, "
              f"broadcast at FPN sizes\n")
        rows = []
        for case in cases:
            res = run_case(case, methods, device, args.repeats, budget)
            rows.append((case, res))
            print(f"  measured {case.name}", file=sys.stderr, flush=True)
        print("\n".join(format_table(rows, methods)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
