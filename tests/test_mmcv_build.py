"""scripts/mmcv_build.py: how the installer builds mmcv's ops on CPU and GPU machines.

The decisions are pure functions of the machine's probes (GPUs nvidia-smi lists, torch's CUDA
version, where nvcc is, the environment), so every machine is described here, a GPU one included;
the post-install check runs the real ops on this machine.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("mmcv_build", ROOT / "scripts" / "mmcv_build.py")
mmcv_build = sys.modules["mmcv_build"] = importlib.util.module_from_spec(_spec)  # dataclasses look it up
_spec.loader.exec_module(mmcv_build)

TORCH, PY = "2.14.1+cu130", "cp311"


def no_nvcc(_name: str):
    return None


def plan(env=None, capabilities=(), torch_cuda="13.0", which=no_nvcc, venv=Path("/v")):
    return mmcv_build.make_plan(env or {}, venv, capabilities, TORCH, torch_cuda, PY, which=which)


def test_a_cpu_machine_builds_cpu_ops_under_a_cpu_key():
    result = plan()  # a CUDA build of torch (PyPI's default) on a machine without a GPU
    assert not result.cuda and result.key == "mmcv-2.1.0-torch2.14.1+cu130-cp311-cpu"
    assert "export FORCE_CUDA=0" in result.shell() and "MMCV_WITH_CUDA=0" in result.shell()


def test_a_gpu_machine_builds_cuda_ops_for_its_gpus_under_another_key():
    result = plan(capabilities=["9.0", "8.0", "9.0"])
    assert result.cuda and result.arch_list == "8.0;9.0"
    assert result.key == "mmcv-2.1.0-torch2.14.1+cu130-cp311-cuda13.0-sm80_90"
    assert result.key != plan().key  # a CPU wheel is never reused on a GPU machine sharing $HOME
    shell = result.shell()
    assert "export FORCE_CUDA=1" in shell and "export TORCH_CUDA_ARCH_LIST='8.0;9.0'" in shell


def test_the_cuda_switch_and_arch_list_override_the_probes():
    assert not plan({"NST_DET_CUDA": "0"}, capabilities=["9.0"]).cuda
    forced = plan({"NST_DET_CUDA": "1", "TORCH_CUDA_ARCH_LIST": "9.0+PTX"})
    assert forced.cuda and forced.key.endswith("cuda13.0-sm90ptx")
    with pytest.raises(mmcv_build.PlanError, match="set TORCH_CUDA_ARCH_LIST"):
        plan({"NST_DET_CUDA": "1"})  # CUDA asked for, no GPU to read the architectures from
    with pytest.raises(mmcv_build.PlanError, match="torch is a CPU build"):
        plan({"NST_DET_CUDA": "1"}, torch_cuda=None)
    with pytest.raises(mmcv_build.PlanError, match="use 1"):
        plan({"NST_DET_CUDA": "yes"})
    assert not plan(capabilities=["9.0"], torch_cuda=None).cuda  # CPU torch on a GPU machine: CPU ops


def _toolkit(root: Path) -> str:
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "nvcc").write_text("")
    return str(root)


def test_the_toolkit_is_found_in_order_else_installed_from_pip(tmp_path):
    home, on_path = _toolkit(tmp_path / "home"), _toolkit(tmp_path / "path")
    which = {"nvcc": os.path.join(on_path, "bin", "nvcc")}.get
    assert plan({"CUDA_HOME": home}, ["9.0"], which=which).cuda_home == home
    assert plan({"CUDA_HOME": str(tmp_path / "nothing")}, ["9.0"], which=which).cuda_home == on_path
    from_pip = plan({}, ["9.0"], which=no_nvcc, venv=tmp_path / "venv")
    if not Path("/usr/local/cuda/bin/nvcc").is_file():
        assert from_pip.cuda_home == str(tmp_path / "venv" / "cuda")
        assert from_pip.pip_packages == ["nvidia-cuda-nvcc==13.0.*", "nvidia-cuda-crt==13.0.*",
                                         "nvidia-cuda-cccl==13.0.*", "nvidia-cuda-runtime==13.0.*"]
    assert mmcv_build.pip_toolkit("12.8") == ["nvidia-cuda-nvcc-cu12==12.8.*", "nvidia-cuda-cccl-cu12==12.8.*",
                                              "nvidia-cuda-runtime-cu12==12.8.*"]
    with pytest.raises(mmcv_build.PlanError, match="no pip toolkit"):
        mmcv_build.pip_toolkit("10.2")


def _files(root: Path, *paths: str) -> None:
    for path in paths:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("")


@pytest.mark.parametrize("layout", ["cuda13", "cuda12"])
def test_the_pip_toolkit_is_assembled_into_one_cuda_home(layout, tmp_path):
    nvidia = tmp_path / "site-packages" / "nvidia"
    if layout == "cuda13":  # nvidia-cuda-nvcc/-crt/-cccl/-runtime all install into nvidia/cu13/
        _files(nvidia / "cu13", "bin/nvcc", "nvvm/lib64/libnvvm.so", "include/cuda_runtime.h",
               "include/crt/host_config.h", "include/cub/cub.cuh", "lib/libcudart.so.13")
    else:  # one folder per component
        _files(nvidia / "cuda_nvcc", "bin/nvcc", "nvvm/lib64/libnvvm.so", "include/crt/host_config.h")
        _files(nvidia / "cuda_runtime", "include/cuda_runtime.h", "lib/libcudart.so.12")
        _files(nvidia / "cuda_cccl", "include/cub/cub.cuh")
    _files(nvidia / "cudnn", "include/cudnn.h", "lib/libcudnn.so.9")
    home = mmcv_build.assemble_cuda_home(nvidia, tmp_path / "venv" / "cuda")
    for path in ("bin/nvcc", "nvvm/lib64/libnvvm.so", "include/cuda_runtime.h", "include/crt/host_config.h",
                 "include/cub/cub.cuh", "lib64/libcudart.so", "include/cudnn.h"):
        assert (home / path).exists(), path
    assert mmcv_build.find_cuda_home({"CUDA_HOME": str(home)}, which=no_nvcc) == str(home)
    with pytest.raises(mmcv_build.PlanError, match="no bin/nvcc"):
        mmcv_build.assemble_cuda_home(nvidia / "cudnn", tmp_path / "other")


def test_the_post_install_check_runs_the_ops_and_names_a_cpu_only_build(monkeypatch):
    mmcv_build.check_ops(gpu=False)  # the real nms and RoIAlign on this machine's build
    import torch

    if not torch.cuda.is_available():  # a failure on the GPU is one line naming the device and the fix
        with pytest.raises(mmcv_build.PlanError, match=r"^mmcv ops failed on cuda \(was mmcv built without CUDA "
                                                       r"ops\? rebuild with NST_DET_CUDA=1\): [^\n]+$"):
            mmcv_build.check_ops(gpu=True)


def test_the_planned_key_is_what_the_installer_recorded():
    """The venv records the key of the mmcv it holds; this machine's plan must name the same build."""
    recorded = ROOT / ".venv" / ".nst_det_mmcv_build"
    if not recorded.is_file():
        pytest.skip("not installed by scripts/install.sh")
    import torch

    expected = mmcv_build.make_plan(dict(os.environ), ROOT / ".venv", mmcv_build.visible_gpu_capabilities(),
                                    torch.__version__, torch.version.cuda,
                                    f"cp{sys.version_info[0]}{sys.version_info[1]}")
    assert recorded.read_text().strip() == expected.key
