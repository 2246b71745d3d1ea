"""What the step benchmarks share: interleaved timing, peak memory, fresh-process memory runs.

Variants of a step are timed interleaved (A, B, C, A, B, C, ...) so that a busy machine slows all
of them alike; the median is reported. GPU memory is the peak of ``torch.cuda.max_memory_allocated``
over a variant's steps. On CPU, a variant's memory is measured in a fresh process that runs it
alone, with glibc told to unmap freed blocks at once (:data:`CPU_MALLOC_ENV`), so the resident set
follows the live tensors: peak resident set during a step minus the resident size before it.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

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
