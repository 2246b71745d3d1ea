"""Run a pipeline of commands with one terminal line per step (``tools/run_demo.py``).

Each step's full output goes to its log file; the terminal gets, per step, what it does, how long it
took, a headline number and the pipeline's elapsed time and ETA:

    [5/14] NST student (R-34 -> R-18)            done in 1m52s   top-1 83.5     12m03s elapsed, ~7m left

A step whose ``done`` file exists is skipped (an interrupted pipeline continues where it stopped).
A failing step prints its log's path and last lines and stops the pipeline (:class:`StepFailed`).
"""
from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence, TextIO

TAIL_LINES = 25
DESCRIPTION_WIDTH = 50


@dataclass
class Step:
    """One command of a pipeline.

    Args:
        name: short identifier (file names).
        description: what a user reads on the step's line.
        command: the command line.
        done: a file whose existence means the step already ran.
        headline: called after the step succeeded; a short result for its line ("top-1 83.5").
        cost: nominal seconds (on the reference machine) for the ETA.
    """

    name: str
    description: str
    command: list[str]
    done: Optional[Path] = None
    headline: Callable[[], str] = field(default=lambda: "")
    cost: float = 30.0


class StepFailed(Exception):
    """A step exited non-zero; the message names it and its log."""


def duration(seconds: float) -> str:
    """``3m26s``, ``45s``, ``1h02m``."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _headline(step: Step) -> str:
    try:
        return step.headline()
    except (OSError, ValueError, KeyError):  # a result file in an unexpected shape: no headline, not a failure
        return ""


def run_steps(steps: Sequence[Step], cwd: Path, log_dir: Path, verbose: bool = False,
              out: Optional[TextIO] = None) -> float:
    """Run ``steps`` in order; returns the seconds spent.

    Args:
        steps: the pipeline.
        cwd: working directory of every command.
        log_dir: where ``NN-<name>.log`` files go (one per step run).
        verbose: the commands' output on the terminal too (and no per-step log).
        out: the terminal (default: ``sys.stdout`` at the time of the call).

    Raises:
        StepFailed: a step exited non-zero (after its log tail was printed).
    """
    out = out or sys.stdout
    log_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    to_run = [s for s in steps if s.done is None or not s.done.exists()]
    cost_left = sum(s.cost for s in to_run)
    spent_cost = spent_time = 0.0
    for index, step in enumerate(steps, 1):
        prefix = f"[{index}/{len(steps)}] {step.description}".ljust(DESCRIPTION_WIDTH)
        if step not in to_run:
            print(f"{prefix} already done   {_headline(step)}", file=out, flush=True)
            continue
        log = log_dir / f"{index:02d}-{step.name.replace(' ', '_')}.log"
        print(prefix if not verbose else f"{prefix} ...", end=" " if not verbose else "\n", file=out, flush=True)
        began = time.perf_counter()
        if verbose:
            result = subprocess.run(step.command, cwd=cwd)
        else:
            with open(log, "w") as stream:
                stream.write("$ " + " ".join(step.command) + "\n")
                stream.flush()
                result = subprocess.run(step.command, cwd=cwd, stdout=stream, stderr=subprocess.STDOUT)
        took = time.perf_counter() - began
        if result.returncode != 0:
            print(f"FAILED after {duration(took)} (exit {result.returncode})", file=out, flush=True)
            if not verbose:
                tail = log.read_text(errors="replace").splitlines()[-TAIL_LINES:]
                print(f"--- last {len(tail)} lines of {log} ---", *tail, "---", sep="\n", file=out, flush=True)
            raise StepFailed(f"step {index} ({step.description}) failed" + ("" if verbose else f"; log: {log}"))
        spent_cost, spent_time, cost_left = spent_cost + step.cost, spent_time + took, cost_left - step.cost
        eta = cost_left * spent_time / spent_cost if spent_cost else 0.0
        status = f"done in {duration(took)}".ljust(16)
        print(f"{'' if not verbose else prefix + ' '}{status} {_headline(step):<30} "
              f"{duration(time.perf_counter() - start)} elapsed" + (f", ~{duration(eta)} left" if cost_left else ""),
              file=out, flush=True)
    return time.perf_counter() - start
