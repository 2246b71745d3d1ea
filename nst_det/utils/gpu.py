"""A GPU the machine has but torch cannot use: found before training, named in one line.

When ``nvidia-smi`` lists GPUs and ``torch.cuda.is_available()`` is False (typically a driver older
than the CUDA the torch wheel was built for), mmengine quietly trains on the CPU, hundreds of times
slower. :func:`unusable_gpu_message` says so with both CUDA versions and what to install; a run meant
for the CPU says ``--device cpu`` (or ``NST_DET_DEVICE=cpu``), which also hides any usable GPU
(``CUDA_VISIBLE_DEVICES=-1``, mmengine's switch for CPU training; :func:`use_device`).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from typing import Optional

import torch

DEVICE_ENV = "NST_DET_DEVICE"
DEVICES = ("auto", "cpu")


def nvidia_smi() -> Optional[tuple[list[str], str, str]]:
    """``(GPU lines, driver version, CUDA version the driver supports)`` from ``nvidia-smi``; ``None``
    without the tool or without a GPU it can see."""
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=60)
        header = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    gpus = [line.strip() for line in listing.stdout.splitlines() if line.startswith("GPU ")]
    if listing.returncode != 0 or not gpus:
        return None
    driver = re.search(r"Driver Version:\s*([\d.]+)", header.stdout)
    cuda = re.search(r"CUDA Version:\s*([\d.]+)", header.stdout)
    return gpus, driver.group(1) if driver else "unknown", cuda.group(1) if cuda else "unknown"


def use_device(device: str) -> None:
    """Act on ``--device`` (its default: ``$NST_DET_DEVICE``): ``"cpu"`` hides the GPUs (``CUDA_VISIBLE_DEVICES=-1``).

    mmengine picks its device when it is imported, before any flag is read; if torch can already use a GPU,
    the tool is started again (same arguments, same process id) with the GPUs hidden.
    """
    if device != "cpu" or os.environ.get("CUDA_VISIBLE_DEVICES") == "-1":
        return
    os.environ.update(CUDA_VISIBLE_DEVICES="-1", **{DEVICE_ENV: "cpu"})
    if torch.cuda.is_available():
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def unusable_gpu_message() -> Optional[str]:
    """One line if ``nvidia-smi`` lists GPUs that torch cannot use, else ``None``.

    ``None`` too when the CPU was chosen (``NST_DET_DEVICE=cpu``, ``CUDA_VISIBLE_DEVICES`` empty or
    ``-1``) or torch can use a GPU.
    """
    if os.environ.get(DEVICE_ENV) == "cpu" or os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return None
    if torch.cuda.is_available():
        return None
    found = nvidia_smi()
    if found is None:
        return None
    gpus, driver, driver_cuda = found
    if torch.version.cuda is None:
        problem = f"torch {torch.__version__} is a CPU-only build"
        fix = f"install a CUDA build of torch for CUDA {driver_cuda} or older"
    else:
        problem = (f"torch {torch.__version__} is built for CUDA {torch.version.cuda} and the driver "
                   f"({driver}) supports CUDA {driver_cuda}")
        release = torch.__version__.split("+")[0]
        fix = (f"install a torch build for CUDA {driver_cuda} or older (pip install torch=={release} --index-url "
               f"https://download.pytorch.org/whl/cuXYZ, a cuXYZ published for it) or a driver for CUDA "
               f"{torch.version.cuda}")
    return (f"nvidia-smi lists {len(gpus)} GPU(s) ({gpus[0].split(' (UUID')[0]}) but torch cannot use them: "
            f"{problem}; {fix}; to train on the CPU on purpose pass --device cpu (or set {DEVICE_ENV}=cpu)")
