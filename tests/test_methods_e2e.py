"""Every method of the comparisons trains a few iterations from its demo config, in one interpreter per stage or
detector family (``tools/pretrain_backbone.py`` / ``tools/train_det.py`` ``main()`` called once per config): the
ImageNet stage's CE, KD, FitNet, AT, NST, KD+NST, AT+NST (configs/distill/imagenet/<method>/*_demo.py) and each
family's NST, MSE, PKD, CWD on FPN levels (configs/distill/mmdet/<method>/*_8e_demo.py). Each run logs its terms
under their kinds' names, records its setup in distill.json (the report reads it) and saves the plain student.
About 6.7 minutes wall on the shared 2-core machine under load, 3.5 CPU-minutes (5 processes, 23 runs of 2-5
iterations): 73 s the ImageNet stage, 69-99 s each detector family."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
import torchvision
from tooling import TOOLS, tiny_options, tool_env

from nst_det.reporting import load_run, summarize

from det_fixtures import DEMO, ROOT, feature_checkpoint, tiny_run_options

pytestmark = pytest.mark.slow

IMAGENET = ROOT / "configs" / "distill" / "imagenet"
MMDET = ROOT / "configs" / "distill" / "mmdet"
# folder -> (method label, logged distillation terms)
IMAGENET_METHODS = {
    "ce": ("CE", set()), "kd": ("KD", {"loss_kd"}), "fitnet": ("FitNet", {"loss_fitnet_layer4_1_relu_in"}),
    "at": ("AT", {"loss_at_layer4_1_relu_in"}), "nst": ("NST", {"loss_nst_layer4_1_relu_in"}),
    "kd-nst": ("KD+NST", {"loss_kd", "loss_nst_layer4_1_relu_in"}),
    "at-nst": ("AT+NST", {"loss_at_layer4_1_relu_in", "loss_nst_layer4_1_relu_in"}),
}
FPN_METHODS = {"nst": "NST", "mse": "MSE", "pkd": "PKD", "cwd": "CWD"}
# family: (config name after "<method>-fpn_", teacher demo config, distilled levels)
FAMILIES = {
    "faster_rcnn": ("frcnn-r34_frcnn-r18_8e_demo.py", "faster-rcnn_r34_fpn_ce-backbone_8e_demo.py",
                    ("p2", "p3", "p4", "p5")),
    "retinanet": ("retina-r34_retina-r18_8e_demo.py", "retinanet_r34_fpn_ce-backbone_8e_demo.py",
                  ("p3", "p4", "p5", "p6", "p7")),
    "fcos": ("fcos-r34_fcos-r18_8e_demo.py", "fcos_r34_fpn_ce-backbone_8e_demo.py", ("p3", "p4", "p5", "p6", "p7")),
    "cascade_rcnn": ("cascade-r34_cascade-r18_8e_demo.py", "cascade-rcnn_r34_fpn_ce-backbone_8e_demo.py",
                     ("p2", "p3", "p4", "p5")),
}
# one interpreter trains every config given: a tool's main() per argv, stopping at the first failure
DRIVER = """
import importlib.util, json, sys
from nst_det.engine.cli import run_cli
spec = importlib.util.spec_from_file_location("tool", sys.argv[1])
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)
for argv in json.loads(sys.argv[2]):
    code = run_cli(tool.main, argv)
    print(f"=== {argv[0]}: exit {code}", flush=True)
    if code:
        sys.exit(code)
"""


def train_all(tool: str, runs: list[list[str]]) -> None:
    done = subprocess.run([sys.executable, "-c", DRIVER, str(TOOLS / tool), json.dumps(runs)], cwd=ROOT,
                          env=tool_env(), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]


def test_every_imagenet_stage_method_trains_from_its_demo_config(tiny_data, tmp_path):
    teacher = tmp_path / "resnet34.pth"
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet34(num_classes=5).state_dict(), teacher)
    # each method's demo config on the comparison's demo base (ce/ also holds the demo teacher, ce_r34_12e_demo.py)
    configs = {method: next((IMAGENET / method).glob("*_r18_8e_demo.py")) for method in IMAGENET_METHODS}
    train_all("pretrain_backbone.py", [
        [str(config), "--work-dir", str(tmp_path / method), "--cfg-options", *tiny_options(tiny_data, epochs=1),
         f"teacher_checkpoint={teacher}"] for method, config in configs.items()])
    rows = summarize([load_run(tmp_path / method) for method in IMAGENET_METHODS])
    for row, (method, (label, terms)) in zip(rows, IMAGENET_METHODS.items()):
        run = load_run(tmp_path / method)
        assert row.method == label and run.setup_source == "record", method
        assert {k for k in run.loss_keys if k not in ("loss", "loss_cls")} == terms, method
        assert row.teacher == ("—" if method == "ce" else "resnet34")
        checkpoint = torch.load(tmp_path / method / "epoch_1.pth", weights_only=True)
        assert all(k.startswith(("student.", "data_preprocessor.")) for k in checkpoint["state_dict"]), method
        regressor = sorted(checkpoint.get("distill_state_dict", {}))
        assert regressor == (["distill_core.adapters.layer4_1_relu_in.bias", "distill_core.adapters.layer4_1_relu_in"
                              ".weight"] if method == "fitnet" else []), method
        assert (tmp_path / method / "backbone_resnet18.pth").is_file()


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_fpn_method_trains_from_its_demo_config(family, det_data, weight_files, tmp_path):
    name, teacher_config, levels = FAMILIES[family]
    teacher = feature_checkpoint(DEMO / teacher_config, tmp_path / "teacher.pth")
    options = [o for o in tiny_run_options(det_data / "VOCdevkit", weight_files)
               if not o.startswith("teacher_checkpoint=")] + [f"teacher_checkpoint={teacher}"]
    # mmdet's runtime names its visualizer 'visualizer': one instance per interpreter unless each run names its own
    train_all("train_det.py", [[str(MMDET / method / f"{method}-fpn_{name}"), "--work-dir", str(tmp_path / method),
                                "--cfg-options", *options, f"visualizer.name={method}"] for method in FPN_METHODS])
    for method, label in FPN_METHODS.items():
        run = load_run(tmp_path / method)
        row = summarize([run], "pascal_voc/mAP")[0]
        assert (row.method, row.taps) == (label, ", ".join(levels)), method
        assert row.weight not in ("?", "—") and row.student.endswith("(ResNet-18)") and "ResNet-34" in row.teacher
        assert {f"loss_{method}_{level}" for level in levels} <= set(run.loss_keys), method
        checkpoint = torch.load(tmp_path / method / "epoch_1.pth", weights_only=True)
        assert not any(k.startswith(("teacher", "distill_core")) for k in checkpoint["state_dict"]), method
