"""Check an environment for nst_det: ``python -m nst_det.check``.

For installing into an environment that already has MMDetection (``pip install -e . --no-deps``): one line
per requirement, ``ok`` or what is ``MISSING`` / ``MISMATCH`` / ``BROKEN`` and what to do, then exit status
0 (all ok) or 1. Checked: Python; torch and torchvision; mmengine 0.10, mmcv >=2.0,<2.2 (mmdet 3.3's own
bound) with its compiled ops (``nms`` and ``RoIAlign`` run on the CPU, and on the GPU when torch sees
one: ops built without CUDA fail there), mmdet 3.3; pycocotools; setuptools below 82 (mmengine and mmcv
import ``pkg_resources``); nst_det's registrations; the optional ``--vis`` packages (information only).
Nothing here needs mmdet to be importable: the check runs on a broken environment.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import sys
from typing import Callable, Optional

# package -> (accepted version check, what it must be, how to get it)
REQUIRED = {
    "torch": (lambda v: _at_least(v, (2, 1)), ">=2.1", "pip install torch torchvision (https://pytorch.org)"),
    "torchvision": (lambda v: True, "the release matching torch", "pip install torchvision"),
    "mmengine": (lambda v: v[:2] == (0, 10), "0.10.x (tested: 0.10.7)", "pip install mmengine==0.10.7"),
    "mmcv": (lambda v: (2, 0) <= v[:2] < (2, 2), ">=2.0,<2.2 (mmdet 3.3's bound; tested: 2.1.0 with ops)",
             "build mmcv 2.1.0 with ops: bash scripts/install.sh, or README 'Installing'"),
    "mmdet": (lambda v: v[:2] == (3, 3), "3.3.x (tested: 3.3.0)", "pip install mmdet==3.3.0"),
    "pycocotools": (lambda v: _at_least(v, (2, 0, 8)), ">=2.0.8 (older builds break on numpy 2)",
                    "pip install 'pycocotools>=2.0.8'"),
    "setuptools": (lambda v: v[:1] < (82,), "<82 (82 removed pkg_resources, which mmengine and mmcv import)",
                   "pip install 'setuptools>=77,<80.9'"),
}
OPTIONAL = {"tensorboard": "--vis tensorboard", "wandb": "--vis wandb"}


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("+")[0].split("."):
        digits = "".join(ch for ch in piece if ch.isdigit()) if piece[:1].isdigit() else ""
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def _at_least(version: tuple[int, ...], minimum: tuple[int, ...]) -> bool:
    return version >= minimum


def installed_version(package: str) -> Optional[str]:
    """The installed distribution's version, or ``None``."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_package(package: str) -> tuple[bool, str]:
    accepts, wanted, fix = REQUIRED[package]
    version = installed_version(package)
    if version is None:
        return False, f"MISSING  {package}: not installed; needs {wanted}: {fix}"
    if not accepts(_version_tuple(version)):
        return False, f"MISMATCH {package} {version}: needs {wanted}: {fix}"
    try:
        importlib.import_module(package)
    except Exception as exc:  # noqa: BLE001  an installed package that does not import is the finding
        return False, f"BROKEN   {package} {version} does not import: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    return True, f"ok       {package} {version}"


def check_ops() -> list[tuple[bool, str]]:
    """mmcv's compiled ops: ``nms`` and ``RoIAlign`` on the CPU, and on the GPU when torch sees one."""
    import torch

    try:
        from mmcv.ops import RoIAlign, nms
    except Exception as exc:  # noqa: BLE001
        return [(False, f"BROKEN   mmcv ops (mmcv._ext): {type(exc).__name__}: {str(exc).splitlines()[0]}; "
                        "mmcv was installed without its compiled ops: build it with MMCV_WITH_OPS=1 "
                        "(bash scripts/install.sh, or README 'Installing')")]
    results = []
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        try:
            boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [20.0, 20.0, 30.0, 30.0]],
                                 device=device)
            _, keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7], device=device), iou_threshold=0.5)
            pooled = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=2)(
                torch.rand(1, 4, 16, 16, device=device), torch.tensor([[0.0, 0.0, 0.0, 8.0, 8.0]], device=device))
            ok = keep.tolist() == [0, 2] and tuple(pooled.shape) == (1, 4, 2, 2)
            detail = "" if ok else f": wrong results (nms kept {keep.tolist()})"
        except (RuntimeError, NotImplementedError) as exc:
            ok, detail = False, f" failed: {str(exc).splitlines()[0]}"
            if device == "cuda":
                detail += " (mmcv built without CUDA ops? rebuild it on the GPU machine: README 'On a GPU machine')"
        name = f"GPU ({torch.cuda.get_device_name(0)})" if device == "cuda" else "CPU"
        results.append((ok, f"{'ok      ' if ok else 'BROKEN  '} mmcv ops nms, RoIAlign on the {name}{detail}"))
    if not torch.cuda.is_available():
        cuda = f"torch built with CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only torch build"
        results.append((True, f"ok       no GPU visible ({cuda}): CUDA ops not checked"))
    return results


def check_registrations() -> tuple[bool, str]:
    try:
        importlib.import_module("nst_det.register_all")
    except Exception as exc:  # noqa: BLE001
        return False, f"BROKEN   nst_det registrations: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    import nst_det

    return True, f"ok       nst_det {nst_det.__version__} ({nst_det.__file__.rsplit('/', 2)[0]}) registers into mmdet"


def run_checks(say: Callable[[str], None] = print) -> bool:
    """Print one line per check; ``True`` when everything required is ok."""
    results = [(sys.version_info >= (3, 10), f"{'ok      ' if sys.version_info >= (3, 10) else 'MISMATCH'} "
                                             f"Python {sys.version.split()[0]} (needs >=3.10)")]
    packages = {package: check_package(package) for package in REQUIRED}
    results += packages.values()
    if packages["torch"][0] and packages["mmcv"][0]:
        results += check_ops()
    if all(ok for ok, _ in results):
        results.append(check_registrations())
    for _, line in results:
        say(line)
    for package, use in OPTIONAL.items():
        version = installed_version(package)
        say(f"info     {package} {version or 'not installed'} (optional: {use})")
    failed = sum(not ok for ok, _ in results)
    say("environment ok" if not failed else f"{failed} problem(s): see the lines above")
    return not failed


def main() -> int:
    return 0 if run_checks() else 1


if __name__ == "__main__":
    sys.exit(main())
