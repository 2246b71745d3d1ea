"""Stock configs as MMDetection users name them: ``mmdet::`` names in every tool, and the project's runtime
base composed with any stock detector config (YOLOX and RTMDet define ``custom_hooks`` of their own)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mmdet.registry import RUNNERS
from mmengine.config import Config
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.runner import Runner
from tooling import ROOT, run_tool

from nst_det.data import CLASSES
from nst_det.engine.cli import config_file, read_config
from nst_det.engine.runtime import add_project_hooks, apply_runtime_switches
from nst_det.utils.errors import NSTDetError

RUNTIME = ROOT / "configs" / "_base_" / "det_runtime.py"
PROJECT_HOOKS = {hook["type"] for hook in Config.fromfile(str(RUNTIME)).nst_det_hooks}
# stock config -> (detector type, the config's own custom hooks)
STOCK = {
    "mmdet::yolox/yolox_s_8xb8-300e_coco.py": ("YOLOX", {"YOLOXModeSwitchHook", "SyncNormHook", "EMAHook"}),
    "mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py": ("RTMDet", {"EMAHook", "PipelineSwitchHook"}),
    "mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py": ("FasterRCNN", set()),
    "mmdet::retinanet/retinanet_r50_fpn_1x_coco.py": ("RetinaNet", set()),
    "mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py": ("FCOS", set()),
    "mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py": ("CascadeRCNN", set()),
}
VOC_STOCK = "mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py"


def composed(stock: str, tmp_path: Path) -> Path:
    """A user's two-line config: a stock detector config and the project's runtime as sibling bases."""
    path = tmp_path / "my_config.py"
    path.write_text(f"_base_ = ['{stock}', '{RUNTIME}']\n")
    return path


def test_package_config_names_resolve_as_mim_does():
    path = config_file(VOC_STOCK)
    assert path.is_file() and path.parts[-4:] == (".mim", "configs", "pascal_voc", "faster-rcnn_r50_fpn_1x_voc0712.py")
    cfg = read_config(VOC_STOCK, {"data_root": "/data/VOCdevkit/"})
    assert cfg.model.roi_head.bbox_head.num_classes == 20
    assert cfg.test_dataloader.dataset.data_root == "/data/VOCdevkit/"  # nested paths move with data_root


@pytest.mark.parametrize("name, message", [
    ("mmpretrain::resnet/resnet50_8xb32_in1k.py", "in the mmpretrain package, which is not installed"),
    ("mmdet::faster_rcnn/no-such-config.py", "does not exist in the installed mmdet's configs"),
    ("nopackage::a/b.py", "no package mmengine knows configs of"),
    ("configs/no_such_file.py", "config file configs/no_such_file.py does not exist"),
])
def test_a_config_name_that_cannot_be_read_is_one_line(name, message):
    pytest.importorskip("mmdet")
    if name.startswith("mmpretrain::"):
        try:
            import mmpretrain  # noqa: F401
            pytest.skip("mmpretrain is installed here")
        except ImportError:
            pass
    with pytest.raises(NSTDetError, match=message) as error:
        config_file(name)
    assert "\n" not in str(error.value)


# YOLOX and RTMDet (custom_hooks of their own) in the fast loop; the shipped configs' four families in the slow set
FAST = ("mmdet::yolox/yolox_s_8xb8-300e_coco.py", "mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py")


@pytest.mark.parametrize("stock", [s if s in FAST else pytest.param(s, marks=pytest.mark.slow) for s in sorted(STOCK)])
def test_the_runtime_base_composes_with_any_stock_detector_config(stock, tmp_path):
    detector, own_hooks = STOCK[stock]
    cfg = read_config(composed(stock, tmp_path), {"model.backbone.init_cfg": None})
    apply_runtime_switches(cfg, training=True)  # what tools/train_det.py does before building the Runner
    assert cfg.applied_runtime_switches == ["checked_image_loading", "seed_per_sample"]
    cfg.work_dir = str(tmp_path / "work")
    runner = Runner.from_cfg(cfg)
    hooks = {type(hook).__name__ for hook in runner.hooks}
    assert type(runner.model).__name__ == detector
    assert own_hooks | PROJECT_HOOKS <= hooks  # the stock config's hooks and the project's


@pytest.mark.parametrize("registry", [pytest.param(MMENGINE_RUNNERS, id="mmengine-root"),
                                      pytest.param(RUNNERS, id="mmdet", marks=pytest.mark.slow)])
def test_mmdet_tools_get_the_project_hooks_through_the_runner_type(registry, tmp_path):
    """mmdet's tools/train.py builds ``RUNNERS.build(cfg)`` (mmengine's root registry, no default scope yet) when a
    config sets ``runner_type``; its tools/test.py with mmdet's registry."""
    cfg = Config.fromfile(str(composed("mmdet::yolox/yolox_s_8xb8-300e_coco.py", tmp_path)))
    cfg.work_dir = str(tmp_path / "work")
    assert "PlainCheckpointHook" not in {h["type"] for h in cfg.custom_hooks}
    runner = registry.build(cfg)
    hooks = {type(hook).__name__ for hook in runner.hooks}
    assert type(runner).__name__ == "NSTDetRunner" and PROJECT_HOOKS | {"EMAHook", "YOLOXModeSwitchHook"} <= hooks


def test_a_config_keeps_its_own_arguments_for_a_project_hook():
    cfg = Config(dict(custom_hooks=[dict(type="FreeSpaceHook", margin=5)],
                      nst_det_hooks=[dict(type="FreeSpaceHook"), dict(type="NonFiniteLossHook")]))
    assert add_project_hooks(cfg) == ["NonFiniteLossHook"]
    assert add_project_hooks(cfg) == []  # idempotent
    assert cfg.custom_hooks == [dict(type="FreeSpaceHook", margin=5), dict(type="NonFiniteLossHook")]


def voc0712_with_voc_names(det_data: Path, root: Path) -> Path:
    """The tiny generated VOC set as VOC07+12 (2012 a copy of 2007) with VOC class names, so the stock
    ``pascal_voc`` config reads it as it would read the real one."""
    devkit = root / "VOCdevkit"
    shutil.copytree(det_data / "VOCdevkit", devkit)
    names = dict(zip(CLASSES, ("person", "car", "dog", "cat", "bird")))
    for xml in (devkit / "VOC2007" / "Annotations").glob("*.xml"):
        text = xml.read_text()
        for shape, name in names.items():
            text = text.replace(f"<name>{shape}</name>", f"<name>{name}</name>")
        xml.write_text(text)
    shutil.copytree(devkit / "VOC2007", devkit / "VOC2012")
    return devkit


@pytest.mark.slow
def test_the_tools_train_test_and_infer_a_stock_mmdet_config(det_data, tmp_path):
    """``train_det.py mmdet::pascal_voc/...`` (2 iterations), then ``test_det.py`` and ``infer_det.py`` with
    the same name."""
    devkit = voc0712_with_voc_names(det_data, tmp_path)
    loaders = ("train_dataloader", "val_dataloader", "test_dataloader")
    small = "(320,240)"  # the stock 1000x600 and R-50 would take minutes on 2 cores: R-18 at 320x240
    quick = [f"data_root={devkit}/", "model.backbone.init_cfg=None", "model.backbone.depth=18",
             "model.neck.in_channels=[64,128,256,512]", "train_cfg.max_epochs=1", "train_dataloader.dataset.times=1",
             "train_dataloader.batch_size=4", "default_hooks.logger.interval=1",
             *[f"train_dataloader.dataset.dataset.datasets.{i}.pipeline.2.scale={small}" for i in (0, 1)],
             *[f"{loader}.dataset.pipeline.1.scale={small}" for loader in loaders[1:]],
             *[f"{loader}.num_workers=0" for loader in loaders],
             *[f"{loader}.persistent_workers=False" for loader in loaders]]
    work = tmp_path / "work"
    train = run_tool("train_det.py", [VOC_STOCK, "--work-dir", str(work), "--cfg-options", *quick])
    assert train.returncode == 0, train.stderr[-3000:]
    assert "Epoch(train) [1][2/2]" in train.stdout + train.stderr and (work / "epoch_1.pth").is_file()
    test = run_tool("test_det.py", [VOC_STOCK, str(work), "--work-dir", str(tmp_path / "test"),
                                    "--cfg-options", *quick])
    assert test.returncode == 0, test.stderr[-3000:]
    assert "pascal_voc/mAP" in test.stdout
    image = next((devkit / "VOC2007" / "JPEGImages").glob("*.jpg"))
    infer = run_tool("infer_det.py", [VOC_STOCK, str(work), str(image), "--out-dir", str(tmp_path / "out"),
                                      "--cfg-options", *quick])
    assert infer.returncode == 0, infer.stderr[-3000:]
    assert (tmp_path / "out" / "detections.json").is_file()


def test_each_runner_draws_with_the_visualizer_its_config_names(tmp_path):
    """A second runner in one process (a tool's ``main`` called twice) gets the stock ``'visualizer'`` back from
    mmengine's instance table; it must still be the instance DetVisualizationHook finds, not a plain
    ``Visualizer`` created in between (which has no ``pred_score_thr``)."""
    from mmdet.visualization import DetLocalVisualizer
    from mmengine.visualization import Visualizer

    from nst_det.engine.runner import NSTDetRunner

    runner = object.__new__(NSTDetRunner)  # build_visualizer reads these two attributes alone
    runner._experiment_name, runner._log_dir = "experiment", str(tmp_path)
    config = dict(type="mmdet.DetLocalVisualizer", name="visualizer")
    first = runner.build_visualizer(dict(config))
    Visualizer.get_instance("a plain visualizer made in between", save_dir=str(tmp_path))
    second = runner.build_visualizer(dict(config))
    assert second is first and isinstance(second, DetLocalVisualizer)
    assert Visualizer.get_current_instance() is second
