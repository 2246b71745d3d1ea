"""How scripts/install.sh builds mmcv's ops: CPU or CUDA, which toolkit, which cache key; and the check after.

    python scripts/mmcv_build.py plan --venv .venv    # shell assignments for install.sh to eval
    python scripts/mmcv_build.py check                 # nms + RoIAlign, on the GPU too when one is visible

Decisions, in order:

* **CUDA or not.** ``NST_DET_CUDA=1`` builds CUDA ops, ``NST_DET_CUDA=0`` CPU ops; unset, CUDA ops
  are built when ``nvidia-smi`` lists a GPU and torch is a CUDA build.
* **Architectures.** ``TORCH_CUDA_ARCH_LIST`` if set, else the compute capabilities of the visible
  GPUs (``nvidia-smi --query-gpu=compute_cap``), e.g. ``9.0`` on an H100.
* **Toolkit.** ``CUDA_HOME``/``CUDA_PATH``, else ``nvcc`` on ``PATH``, else ``/usr/local/cuda``; when
  none has ``bin/nvcc``, NVIDIA's pip toolkit matching ``torch.version.cuda`` is installed into the
  venv (:func:`pip_toolkit`) and assembled into one ``CUDA_HOME`` (:func:`assemble_cuda_home`).
* **Cache key** (:func:`cache_key`): mmcv version, torch's full version (``2.14.1+cu130``), Python
  tag, and ``cpu`` or ``cuda<version>-sm<archs>``, so a CPU wheel is never reused on a GPU machine
  sharing ``$HOME`` and vice versa.
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

MMCV_VERSION = "2.1.0"


class PlanError(Exception):
    """A build setting that cannot work; the message says what to set."""


@dataclass
class BuildPlan:
    """What install.sh exports before building mmcv, and the wheel cache key."""

    cuda: bool
    key: str
    arch_list: str = ""
    cuda_home: str = ""
    pip_packages: list[str] = field(default_factory=list)

    def shell(self) -> str:
        lines = [f"MMCV_CACHE_KEY={shlex.quote(self.key)}", f"MMCV_WITH_CUDA={int(self.cuda)}",
                 f"MMCV_PIP_TOOLKIT={shlex.quote(' '.join(self.pip_packages))}"]
        if self.cuda:
            lines += ["export FORCE_CUDA=1", f"export TORCH_CUDA_ARCH_LIST={shlex.quote(self.arch_list)}"]
            if self.cuda_home:
                lines.append(f"export CUDA_HOME={shlex.quote(self.cuda_home)}")
        else:
            lines.append("export FORCE_CUDA=0")
        return "\n".join(lines)


def visible_gpu_capabilities(run=subprocess.run) -> list[str]:
    """Compute capabilities (``"9.0"``) of the GPUs ``nvidia-smi`` lists; ``[]`` without a driver."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = run(["nvidia-smi", "--query-gpu=compute_cap", "--format=csv,noheader"],
                  capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return []
    if out.returncode != 0:
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def wants_cuda(env: dict, capabilities: Sequence[str], torch_cuda: Optional[str]) -> bool:
    """Whether to build CUDA ops (see the module docstring)."""
    forced = env.get("NST_DET_CUDA", "").strip()
    if forced not in ("", "0", "1"):
        raise PlanError(f"NST_DET_CUDA={forced!r}: use 1 (build CUDA ops) or 0 (CPU ops)")
    if forced == "1" and not torch_cuda:
        raise PlanError("NST_DET_CUDA=1, but the installed torch is a CPU build (torch.version.cuda is None); "
                        "install a CUDA build of torch first")
    if forced:
        return forced == "1"
    return bool(capabilities) and bool(torch_cuda)


def arch_list(env: dict, capabilities: Sequence[str]) -> str:
    """``TORCH_CUDA_ARCH_LIST`` as given, else the visible GPUs' capabilities, sorted, deduplicated."""
    given = env.get("TORCH_CUDA_ARCH_LIST", "").strip()
    if given:
        return given
    if not capabilities:
        raise PlanError("no GPU is visible to pick the CUDA architectures from: set TORCH_CUDA_ARCH_LIST "
                        "(e.g. '8.0;9.0') or build CPU ops with NST_DET_CUDA=0")
    return ";".join(sorted(set(capabilities), key=lambda c: tuple(int(p) for p in c.split("."))))


def find_cuda_home(env: dict, which=shutil.which) -> Optional[str]:
    """A CUDA toolkit with ``bin/nvcc``: ``CUDA_HOME``, ``CUDA_PATH``, ``nvcc`` on PATH, ``/usr/local/cuda``."""
    candidates = [env.get("CUDA_HOME"), env.get("CUDA_PATH")]
    nvcc = which("nvcc")
    if nvcc:
        candidates.append(str(Path(nvcc).resolve().parent.parent))
    candidates.append("/usr/local/cuda")
    for home in candidates:
        if home and (Path(home) / "bin" / "nvcc").is_file():
            return home
    return None


def pip_toolkit(torch_cuda: str) -> list[str]:
    """NVIDIA's pip packages of nvcc and the headers it needs, for torch's CUDA major.minor."""
    major, minor = torch_cuda.split(".")[:2]
    series = f"=={major}.{minor}.*"
    if int(major) >= 13:  # one package per component, installed together under nvidia/cu13/
        names = ["nvidia-cuda-nvcc", "nvidia-cuda-crt", "nvidia-cuda-cccl", "nvidia-cuda-runtime"]
    elif int(major) in (11, 12):
        names = [f"nvidia-cuda-nvcc-cu{major}", f"nvidia-cuda-cccl-cu{major}", f"nvidia-cuda-runtime-cu{major}"]
    else:
        raise PlanError(f"torch is built for CUDA {torch_cuda}, for which there is no pip toolkit: "
                        "install a CUDA toolkit of that version and set CUDA_HOME")
    return [name + series for name in names]


def assemble_cuda_home(nvidia_root: Path, target: Path) -> Path:
    """One ``CUDA_HOME`` (``bin``, ``nvvm``, ``include``, ``lib64``) of symlinks into NVIDIA's pip packages.

    The pip toolkit spreads over ``site-packages/nvidia/<component>/`` (CUDA 12) or lives in
    ``nvidia/cu13/`` (CUDA 13); torch's extension builder wants one tree, and links ``-lcudart``,
    for which the unversioned ``libcudart.so`` is added.
    """
    roots = sorted(p for p in nvidia_root.iterdir() if p.is_dir())
    nvcc_roots = [r for r in roots if (r / "bin" / "nvcc").is_file()]
    if not nvcc_roots:
        raise PlanError(f"no bin/nvcc under {nvidia_root}: the pip CUDA toolkit did not install")
    if target.exists():
        shutil.rmtree(target)
    for name in ("bin", "nvvm"):
        source = nvcc_roots[0] / name
        if source.is_dir():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).symlink_to(source, target_is_directory=True)
    for sub, dest in (("include", "include"), ("lib", "lib64"), ("lib64", "lib64")):
        for root in roots:
            folder = root / sub
            if not folder.is_dir():
                continue
            (target / dest).mkdir(parents=True, exist_ok=True)
            for entry in folder.iterdir():
                link = target / dest / entry.name
                if not link.exists() and not link.is_symlink():
                    link.symlink_to(entry, target_is_directory=entry.is_dir())
    for versioned in sorted((target / "lib64").glob("libcudart.so.*")) if (target / "lib64").is_dir() else []:
        plain = target / "lib64" / "libcudart.so"
        if not plain.exists():
            plain.symlink_to(versioned)
    return target


def cache_key(torch_version: str, python_tag: str, cuda: bool, torch_cuda: Optional[str] = None,
              archs: str = "") -> str:
    """``mmcv-2.1.0-torch2.14.1+cu130-cp311-cpu`` or ``...-cuda13.0-sm90``."""
    if cuda:
        sms = "_".join(a.replace(".", "").replace("+PTX", "ptx") for a in archs.replace(" ", ";").split(";") if a)
        variant = f"cuda{torch_cuda}-sm{sms}"
    else:
        variant = "cpu"
    return f"mmcv-{MMCV_VERSION}-torch{torch_version}-{python_tag}-{variant}"


def make_plan(env: dict, venv: Path, capabilities: Sequence[str], torch_version: str, torch_cuda: Optional[str],
              python_tag: str, which=shutil.which) -> BuildPlan:
    """The whole decision (pure: probes are passed in, so tests can give any machine)."""
    if not wants_cuda(env, capabilities, torch_cuda):
        return BuildPlan(cuda=False, key=cache_key(torch_version, python_tag, cuda=False))
    archs = arch_list(env, capabilities)
    home = find_cuda_home(env, which)
    packages = [] if home else pip_toolkit(torch_cuda)
    return BuildPlan(cuda=True, key=cache_key(torch_version, python_tag, True, torch_cuda, archs),
                     arch_list=archs, cuda_home=home or str(venv / "cuda"), pip_packages=packages)


def check_ops(gpu: bool) -> None:
    """Run mmcv's ``nms`` and ``RoIAlign`` on the CPU, and on the GPU when ``gpu``; raise on failure."""
    import torch
    from mmcv.ops import RoIAlign, nms

    devices = ["cpu"] + (["cuda"] if gpu else [])
    for device in devices:
        try:
            boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [20.0, 20.0, 30.0, 30.0]],
                                 device=device)
            scores = torch.tensor([0.9, 0.8, 0.7], device=device)
            _, keep = nms(boxes, scores, iou_threshold=0.5)
            features = torch.rand(1, 4, 16, 16, device=device)
            rois = torch.tensor([[0.0, 0.0, 0.0, 8.0, 8.0]], device=device)
            pooled = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=2)(features, rois)
        except (RuntimeError, NotImplementedError) as exc:
            hint = " (was mmcv built without CUDA ops? rebuild with NST_DET_CUDA=1)" if device == "cuda" else ""
            raise PlanError(f"mmcv ops failed on {device}{hint}: {str(exc).splitlines()[0]}") from None
        if keep.tolist() != [0, 2] or tuple(pooled.shape) != (1, 4, 2, 2):
            raise PlanError(f"mmcv ops on {device} gave wrong results (nms kept {keep.tolist()})")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    plan = sub.add_parser("plan", help="print shell assignments for the mmcv build")
    plan.add_argument("--venv", required=True, type=Path)
    assemble = sub.add_parser("assemble", help="build CUDA_HOME from the pip toolkit in the venv")
    assemble.add_argument("--venv", required=True, type=Path)
    sub.add_parser("check", help="run nms and RoIAlign (on the GPU too when one is visible)")
    args = parser.parse_args(argv)
    try:
        if args.command == "plan":
            import torch
            print(make_plan(dict(os.environ), args.venv.resolve(), visible_gpu_capabilities(), torch.__version__,
                            torch.version.cuda, f"cp{sys.version_info[0]}{sys.version_info[1]}").shell())
        elif args.command == "assemble":
            import site
            nvidia = next((Path(p) / "nvidia" for p in site.getsitepackages() if (Path(p) / "nvidia").is_dir()), None)
            if nvidia is None:
                raise PlanError("no nvidia/ folder in the venv's site-packages: the pip CUDA toolkit did not install")
            print(assemble_cuda_home(nvidia, args.venv.resolve() / "cuda"))
        else:
            import torch
            check_ops(gpu=torch.cuda.is_available())
    except PlanError as exc:
        print(f"[install] ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
