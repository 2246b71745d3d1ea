"""Differential check: for files in the formats users hold, the reader returns exactly what
``torch.load(weights_only=False)`` returns, read in an isolated interpreter (``tests/reference_load.py``).

Compared per key path (``tests/canonical.py``): every tensor's dtype, shape, layout, quantization and raw
bytes, every numpy array and scalar, every plain value, and which tensors share a storage. The formats:
torchvision state dicts (zip and legacy), an mmdet 2.x model-zoo file (legacy, numpy values in ``meta``),
an mmpretrain classifier, a DDP ``module.`` state dict, tensors of every dtype torch saves (bf16, uint16/32/64,
the float8s, complex, quantized, sparse, meta, conjugate views, tied weights), RNG states (Python, numpy,
torch), numpy arrays under pickle protocol 5, a pre-0.4 tar checkpoint, and checkpoints written by stock
mmengine's ``Runner`` (message hub, optimizer, schedulers, numpy meta).
"""
from __future__ import annotations

import collections
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from canonical import canonical, shared_storages
from pickle_asm import tar_checkpoint
from tooling import ROOT, tool_env

from nst_det.utils.checkpoint import read_checkpoint

VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle")


def _dtype_zoo() -> dict:
    torch.manual_seed(0)
    base = torch.randn(4, 6)
    weights = {str(dtype).split(".")[-1]: base.to(dtype) for dtype in (
        torch.bfloat16, torch.float16, torch.float64, torch.float8_e4m3fn, torch.float8_e5m2, torch.float8_e4m3fnuz,
        torch.float8_e5m2fnuz, torch.complex64, torch.complex128, torch.bool, torch.int8, torch.int16, torch.uint8)}
    weights.update({name: torch.arange(24).reshape(4, 6).to(dtype) for name, dtype in (
        ("uint16", torch.uint16), ("uint32", torch.uint32), ("uint64", torch.uint64))})
    shared = torch.randn(8, 8)
    weights.update({
        "tied.a": shared, "tied.b": shared,  # two names, one storage (tied weights)
        "view.transposed": shared.t(), "view.slice": shared[2:5, 1:],
        "conj": torch.randn(3, dtype=torch.complex64).conj(), "parameter": torch.nn.Parameter(torch.randn(3)),
        "quantized.per_tensor": torch.quantize_per_tensor(base, 0.05, 3, torch.qint8),
        "quantized.per_channel": torch.quantize_per_channel(base, torch.rand(4) + 0.1, torch.arange(4), 0,
                                                            torch.quint8),
        "sparse.coo": base.relu().to_sparse(), "sparse.csr": base.relu().to_sparse_csr(),
        "sparse.csc": base.relu().to_sparse_csc(), "sparse.bsr": base.relu().to_sparse_bsr((2, 2)),
        "sparse.bsc": base.relu().to_sparse_bsc((2, 3)), "meta": torch.empty(5, 7, device="meta"),
        "scalar": torch.tensor(3.5), "empty": torch.empty(0, 3),
    })
    return weights


def legit_files(folder: Path) -> dict[str, Path]:
    """Checkpoints in the formats users hold, written by the libraries that write them."""
    torch.manual_seed(0)
    resnet = torchvision.models.resnet18().state_dict()
    files: dict[str, Path] = {}

    def save(name: str, obj, **kwargs) -> None:
        files[name] = folder / f"{name}.pth"
        torch.save(obj, files[name], **kwargs)

    save("torchvision resnet18 (zip)", resnet)
    save("torchvision resnet18 (legacy)", resnet, _use_new_zipfile_serialization=False)
    save("mmdet 2.x model zoo (legacy)", {
        "meta": {"mmdet_version": "2.25.3", "mmcv_version": "1.7.0", "CLASSES": VOC_CLASSES, "epoch": 12,
                 "iter": 21612, "config": "model = dict(type='FasterRCNN')\n", "seed": np.int64(42),
                 "hook_msgs": {"last_ckpt": "work_dirs/epoch_12.pth", "best_score": np.float64(0.7912)},
                 "time": "Sat Jan  1 00:00:00 2022", "env_info": "sys.platform: linux\nCUDA available: True"},
        "state_dict": collections.OrderedDict((f"backbone.{k}", v) for k, v in resnet.items()),
        "optimizer": {"state": {0: {"momentum_buffer": torch.ones(3)}}, "param_groups": [
            {"lr": 0.02, "momentum": 0.9, "weight_decay": 1e-4, "params": [0]}]}},
        _use_new_zipfile_serialization=False)
    save("mmpretrain classifier", {
        "meta": {"dataset_meta": {"classes": list(VOC_CLASSES)}, "epoch": 100, "seed": np.int32(7),
                 "mmengine_version": "0.10.7", "lr": np.float32(0.1)},
        "state_dict": {**{f"backbone.{k}": v for k, v in resnet.items() if not k.startswith("fc.")},
                       "head.fc.weight": resnet["fc.weight"], "head.fc.bias": resnet["fc.bias"]}})
    save("DDP module. state dict", {f"module.{k}": v for k, v in resnet.items()})
    save("every dtype and layout", _dtype_zoo())
    save("RNG states", {"python": random.getstate(), "numpy": np.random.get_state(), "cpu": torch.get_rng_state(),
                        "generator": np.random.default_rng(0).bit_generator.state})
    save("numpy arrays, pickle protocol 5", {"mean": np.arange(6.0).reshape(2, 3), "flags": np.array([True, False]),
                                             "fortran": np.asfortranarray(np.arange(6).reshape(2, 3)),
                                             "big_endian": np.arange(4, dtype=">i4")}, pickle_protocol=5)
    files["pre-0.4 tar checkpoint"] = tar_checkpoint(folder / "tar.pth", [0.5, 1.5, -2.0])
    return files


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    return legit_files(tmp_path_factory.mktemp("legit"))


def test_every_legit_file_is_read(files):
    for name, path in files.items():
        assert canonical(read_checkpoint(path)), name


def test_tied_weights_stay_tied(files):
    loaded = read_checkpoint(files["every dtype and layout"])
    assert loaded["tied.a"].untyped_storage().data_ptr() == loaded["tied.b"].untyped_storage().data_ptr()
    assert torch.equal(loaded["view.transposed"], loaded["tied.a"].t())


def _compare(name: str, reference: dict, ours_obj) -> None:
    ours = canonical(ours_obj)
    assert set(ours) == set(reference["values"]), (name, set(ours) ^ set(reference["values"]))
    for path, expected in reference["values"].items():
        got = ours[path]
        if "bits" in expected:
            assert torch.equal(got.pop("bits"), expected.pop("bits")), (name, path)
        assert got == expected, (name, path, got, expected)
    assert shared_storages(ours_obj) == reference["shared"], name


@pytest.mark.slow
def test_reader_equals_torch_load_in_an_isolated_interpreter(files, stock, tmp_path):
    every = {**files, "stock mmengine Runner (epoch_1)": stock["epoch_1"],
             "stock mmengine, numpy meta": stock["numpy_meta"], "stock mmdet VOC R-50 (teacher)": stock["r50_voc"]}
    out = tmp_path / "reference.pth"
    run = subprocess.run([sys.executable, str(ROOT / "tests" / "reference_load.py"), str(out),
                          *map(str, every.values())], capture_output=True, text=True, timeout=600, env=tool_env())
    assert run.returncode == 0, run.stderr[-3000:]
    assert "nst_det" not in run.stdout + run.stderr
    references = torch.load(out, weights_only=True)
    for name, path in every.items():
        _compare(name, references[str(path)], read_checkpoint(path))
