"""What the step benchmarks share: interleaved timing, peak memory, fresh-process memory runs.

Variants of a step are timed interleaved (A, B, C, A, B, C, ...) so that a busy machine slows all
of them alike; the median is reported. GPU memory is the peak of ``torch.cuda.max_memory_allocated``
over a variant's steps. On CPU, a variant's memory is measured in a fresh process that runs it
alone, with glibc told to unmap freed blocks at once (:data:`CPU_MALLOC_ENV`), so the resident set
follows the live tensors: peak resident set during a step minus the resident size before it.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional

import torch

# glibc returns freed blocks >= 64 KiB to the OS at once (no adaptive threshold)
CPU_MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536"}


def status_kib(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (Linux): ``VmRSS``, ``VmHWM`` (peak RSS)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak_rss() -> int:
    """Reset this process's peak RSS to its current RSS (``clear_refs`` 5); returns that, in bytes."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return status_kib("VmRSS") * 1024


def measure_steps(steps: dict[str, Callable[[Any], None]], make_input: Callable[[], Any], repeats: int,
                  warmup: int, cuda: bool) -> dict[str, dict]:
    """``{variant: dict(ms=median step ms, mem_mib=peak MiB)}``; ``make_input()`` runs outside the timing.

    On CPU the memory figure is the process's peak RSS growth, meaningful only when ``steps``
    holds a single variant (see :func:`memory_in_fresh_processes`).
    """
    for _ in range(warmup):
        for step in steps.values():
            step(make_input())
    times = {name: [] for name in steps}
    peaks = {name: 0 for name in steps}
    rss_before = reset_peak_rss()
    for _ in range(repeats):
        for name, step in steps.items():
            data = make_input()
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
            step(data)
            if cuda:
                torch.cuda.synchronize()
                peaks[name] = max(peaks[name], torch.cuda.max_memory_allocated())
            times[name].append(time.perf_counter() - start)
    if not cuda:
        peaks = {name: status_kib("VmHWM") * 1024 - rss_before for name in steps}
    return {name: dict(ms=1000 * statistics.median(times[name]), mem_mib=peaks[name] / 2 ** 20) for name in steps}


def memory_in_fresh_processes(variants: list[str], command: Callable[[str], list[str]], cwd: Path) -> dict[str, float]:
    """Run ``command(variant)`` for each variant in a fresh process; each prints a JSON line with
    ``mem_mib`` last. Returns ``{variant: mem_mib}``.

    Raises:
        RuntimeError: a child failed (its stderr tail is in the message).
    """
    memory = {}
    for variant in variants:
        print(f"memory of '{variant}' in a fresh process ...", flush=True)
        result = subprocess.run(command(variant), capture_output=True, text=True, cwd=cwd,
                                env={**os.environ, **CPU_MALLOC_ENV})
        if result.returncode != 0:
            raise RuntimeError(f"variant {variant} failed:\n{result.stderr[-3000:]}")
        memory[variant] = json.loads(result.stdout.strip().splitlines()[-1])["mem_mib"]
    return memory


def ratio_table(rows: dict[str, dict], labels: dict[str, str], base: str, memory: str,
                images_per_step: Optional[int] = None, base_name: str = "teacher fwd") -> list[str]:
    """Markdown rows: step ms and memory of each variant, and their ratios to variant ``base``
    (``base_name`` in the header); with ``images_per_step``, an images/s column too."""
    images = " images/s |" if images_per_step else ""
    lines = [f"| variant | step ms | vs {base_name} |{images} {memory} | vs {base_name} |",
             "|---|---:|---:|" + ("---:|" if images_per_step else "") + "---:|---:|"]
    for key, label in labels.items():
        row, ref = rows[key], rows[base]
        rate = f" {images_per_step / row['ms'] * 1000:.0f} |" if images_per_step else ""
        lines.append(f"| {label} | {row['ms']:.0f} | {row['ms'] / ref['ms']:.3f}x |{rate} {row['mem_mib']:.0f} | "
                     f"{row['mem_mib'] / ref['mem_mib']:.3f}x |")
    return lines


def run_step_benchmark(args: argparse.Namespace, labels: dict[str, str],
                       measure: Callable[[argparse.Namespace, list[str]], dict[str, dict]],
                       write_teacher: Callable[[Path], Path], child_command: Callable[[str], list[str]],
                       format_table: Callable[[dict[str, dict]], str], cwd: Path) -> int:
    """The driver of a step benchmark (``args.device``, ``args.threads``, ``args.variant``).

    A child process (``args.variant`` set) measures that variant alone and prints its JSON row.
    Otherwise: write a random teacher checkpoint to a temporary folder (``args.teacher_ckpt``),
    time all variants interleaved, on CPU measure each one's memory in a fresh process, print the table.
    """
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.variant:
        print(json.dumps(measure(args, [args.variant])[args.variant]), flush=True)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        args.teacher_ckpt = str(write_teacher(Path(tmp) / "teacher.pth"))
        print(f"timing {len(labels)} variants, interleaved ...", flush=True)
        rows = measure(args, list(labels))
        if args.device == "cpu":
            for variant, mem_mib in memory_in_fresh_processes(list(labels), child_command, cwd).items():
                rows[variant]["mem_mib"] = mem_mib
    print(format_table(rows))
    return 0


def add_step_benchmark_args(parser: argparse.ArgumentParser, variants: list[str]) -> argparse.ArgumentParser:
    """The flags every step benchmark has (device, steps, warm-up, λ, threads; child-process flags)."""
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--steps", type=int, help="timed steps (median reported)")
    parser.add_argument("--warmup", type=int, help="untimed steps first")
    parser.add_argument("--loss-weight", type=float, help="NST loss_weight (default: NSTLoss's, 50)")
    parser.add_argument("--threads", type=int, help="CPU threads (torch.set_num_threads); 1 is steadier "
                                                   "on a shared machine")
    parser.add_argument("--variant", choices=variants, help=argparse.SUPPRESS)  # child process
    parser.add_argument("--teacher-ckpt", help=argparse.SUPPRESS)
    return parser


def nst_loss_config(loss_weight: Optional[float]) -> dict:
    """The benchmarked NST term: ``NSTLoss``'s defaults (the official setting), ``--loss-weight`` if given."""
    return dict(type="NSTLoss", **({} if loss_weight is None else dict(loss_weight=loss_weight)))


def loss_weight_flag(loss_weight: Optional[float]) -> list[str]:
    """``--loss-weight`` for a child process, when one was given."""
    return [] if loss_weight is None else ["--loss-weight", str(loss_weight)]


def resolve_preset(args: argparse.Namespace, presets: dict[str, dict]) -> argparse.Namespace:
    """Pick the device (``auto``: CUDA when present) and fill unset options from its preset."""
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    for key, value in presets[args.device].items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    return args
