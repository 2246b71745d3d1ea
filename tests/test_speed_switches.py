"""The ImageNet stage's speed switches, on CPU: bfloat16 autocast (``--amp``), channels_last, and
mmengine's ``compile`` with the feature taps and the frozen teacher."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from tooling import NST_CONFIG, PRETRAIN, run_tool, tiny_options

from nst_det.engine.cli import apply_amp
from nst_det.registry import MODELS
from nst_det.utils.errors import NSTDetError

PREPROCESSOR = dict(type="ImgDataPreprocessor", mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])


def distiller(teacher_file: Path, **overrides):
    torch.manual_seed(0)
    return MODELS.build(dict(type="ClassifierDistiller", student=dict(arch="resnet18", num_classes=4),
                             teacher=dict(arch="resnet34", num_classes=4, checkpoint=str(teacher_file)),
                             distill=dict(taps=[("layer4.1.relu:input", "layer4.2.relu:input"), ("layer3", "layer3")],
                                          loss=dict(type="NSTLoss", loss_weight=50.0), kd_loss=dict(type="KDLoss")),
                             data_preprocessor=PREPROCESSOR, **overrides))


def batch(n: int = 2, size: int = 64) -> dict:
    generator = torch.Generator().manual_seed(0)
    return dict(inputs=torch.randint(0, 256, (n, 3, size, size), generator=generator, dtype=torch.uint8),
                data_samples=torch.arange(n) % 4)


def losses_of(model, data: dict) -> dict[str, torch.Tensor]:
    model.train()
    return model(**model.data_preprocessor(data, True), mode="loss")


def test_bf16_autocast_runs_the_networks_in_bfloat16_and_the_losses_in_float32(teacher_file):
    model = distiller(teacher_file)
    cfg = Config(dict(optim_wrapper=dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=0.01))))
    apply_amp(cfg, "bfloat16")
    init_default_scope("mmdet")  # as the configs set it
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    seen = {}

    def record(name: str):
        def hook(_module, _inputs, output) -> None:
            seen[name] = output.dtype
        return hook

    model.student.layer4.register_forward_hook(record("student"))
    model.teacher.layer4.register_forward_hook(record("teacher"))
    before = model.student.conv1.weight.detach().clone()
    log = model.train_step(batch(), wrapper)
    assert seen == {"student": torch.bfloat16, "teacher": torch.bfloat16}
    assert all(torch.isfinite(v).all() and v.dtype == torch.float32 for v in log.values())
    assert model.student.conv1.weight.dtype == torch.float32 and not torch.equal(before, model.student.conv1.weight)
    full = losses_of(distiller(teacher_file), batch())  # same weights in float32: bf16 is close, not equal
    for name in ("loss_cls", "loss_kd"):
        assert float(log[name]) == pytest.approx(float(full[name]), rel=0.1), name


def test_float16_amp_needs_a_gpu():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    cfg = Config(dict(optim_wrapper=dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=0.01))))
    with pytest.raises(NSTDetError, match="float16 needs a CUDA GPU .* on CPU use --amp --amp-dtype bfloat16"):
        apply_amp(cfg, "float16")


def test_channels_last_changes_the_layout_not_the_losses(teacher_file):
    plain, fast = distiller(teacher_file), distiller(teacher_file, channels_last=True)
    for network in (fast.student, fast.teacher):
        assert network.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    expected, got = losses_of(plain, batch()), losses_of(fast, batch())
    for name, value in expected.items():
        torch.testing.assert_close(got[name], value, rtol=1e-4, atol=1e-6, msg=name)


def test_compiled_step_keeps_the_taps_and_the_frozen_teacher(teacher_file):
    import torch._dynamo

    torch._dynamo.reset()
    model = distiller(teacher_file)
    expected = losses_of(model, batch())
    compiled = torch.compile(model, backend="eager")  # what mmengine's compile=True wraps, traced by dynamo
    for _ in range(2):  # a second step reuses the trace
        got = compiled(**model.data_preprocessor(batch(), True), mode="loss")
        for name, value in expected.items():
            torch.testing.assert_close(got[name], value, rtol=1e-5, atol=1e-6, msg=name)
    assert not any(p.requires_grad for p in model.teacher.parameters()) and not model.teacher.training


@pytest.mark.slow
def test_pretrain_tool_with_every_switch_on(tmp_path, tiny_data, teacher_file):
    teacher = tmp_path / "teacher5.pth"
    torch.save(torchvision.models.resnet34(num_classes=5).state_dict(), teacher)
    result = run_tool(PRETRAIN, [NST_CONFIG, "--work-dir", str(tmp_path / "work"), "--amp", "--cfg-options",
                       *tiny_options(tiny_data, epochs=1), f"teacher_checkpoint={teacher}", "model.channels_last=True",
                       "compile.backend=eager"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Epoch(train) [1][5/5]" in result.stdout and "loss_nst_layer4_1_relu_in" in result.stdout
    assert "type='BF16OptimWrapper'" in (tmp_path / "work" / "nst_r34_r18_8e_demo.py").read_text()  # the config as run


@pytest.mark.slow
def test_detection_refuses_bfloat16_amp_in_one_line(tmp_path):
    result = run_tool("train_det.py", ["configs/distill/mmdet/nst/nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py", "--amp",
                                       "--amp-dtype", "bfloat16"])
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: --amp-dtype bfloat16 is not available for detection: mmcv's RoIAlign has no bfloat16 kernel; "
        "--amp trains detectors in float16 with dynamic loss scaling")
