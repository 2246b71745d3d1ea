"""Truncated, undecodable and missing images are named, in the pipeline and from tools/train_det.py."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from mmcv.transforms import LoadImageFromFile
from mmengine.config import Config
from PIL import Image
from tooling import run_tool

from nst_det.det.images import CheckedLoadImageFromFile, truncation_problem, use_checked_image_loading
from nst_det.engine.runtime import apply_runtime_switches
from nst_det.registry import TRANSFORMS
from nst_det.utils.errors import NSTDetError

from det_fixtures import DEMO, ROOT


def encoded(fmt: str, **kwargs) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def test_truncation_problem_tells_whole_files_from_cut_ones():
    jpeg, png = encoded("JPEG", quality=90), encoded("PNG")
    progressive = encoded("JPEG", progressive=True)
    assert truncation_problem(jpeg) is None and truncation_problem(png) is None
    assert truncation_problem(progressive) is None
    assert truncation_problem(jpeg + b"camera trailer") is None  # data after the end marker is allowed
    assert "end-of-image marker" in truncation_problem(jpeg[: len(jpeg) // 2])
    assert "end-of-image marker" in truncation_problem(progressive[: len(progressive) - 10])
    assert "IEND" in truncation_problem(png[:-20])
    assert truncation_problem(b"") == "the file is empty"
    assert truncation_problem(b"BM not checked here") is None  # other formats: the decoder decides


@pytest.fixture
def images(tmp_path) -> Path:
    jpeg = encoded("JPEG")
    (tmp_path / "good.jpg").write_bytes(jpeg)
    (tmp_path / "cut.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (tmp_path / "text.jpg").write_text("<html>not an image</html>")
    return tmp_path


def load(path: Path, **kwargs):
    return TRANSFORMS.build(dict(type="CheckedLoadImageFromFile", **kwargs))(dict(img_path=str(path)))


def test_a_good_image_loads_exactly_as_with_mmcv(images):
    ours, theirs = load(images / "good.jpg", to_float32=True), \
        LoadImageFromFile(to_float32=True)(dict(img_path=str(images / "good.jpg")))
    assert ours["img"].dtype == np.float32 and ours["img"].shape == (48, 64, 3)
    np.testing.assert_array_equal(ours["img"], theirs["img"])
    assert ours["img_shape"] == theirs["img_shape"] == ours["ori_shape"] == (48, 64)


@pytest.mark.parametrize("name, why", [
    ("cut.jpg", "JPEG data ends before its end-of-image marker (truncated file?)"),
    ("text.jpg", "not an image cv2 can decode"),
    ("missing.jpg", "No such file or directory"),
])
def test_bad_images_are_named_or_skipped(images, name, why):
    with pytest.raises(NSTDetError) as error:
        load(images / name)
    assert str(error.value) == f"cannot decode image {images / name}: {why}"
    assert load(images / name, ignore_empty=True) is None


@pytest.mark.parametrize("config", ["faster_rcnn_nst.py",
                                    "detection/faster_rcnn/faster-rcnn_r18_fpn_ce-backbone_1x_coco.py",
                                    "distill/mmdet/nst/nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py"])
def test_every_pipeline_of_a_config_loads_checked_images(config):
    cfg = Config.fromfile(str(ROOT / "configs" / config))
    assert cfg.checked_image_loading and cfg.seed_per_sample
    apply_runtime_switches(cfg, training=True)
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        text = repr(cfg[loader])
        assert "CheckedLoadImageFromFile" in text and "'LoadImageFromFile'" not in text, loader
    assert cfg.train_dataloader.dataset.type == "SeededDataset"
    assert isinstance(CheckedLoadImageFromFile(), LoadImageFromFile)
    assert use_checked_image_loading([dict(type="LoadImageFromFile")]) == [dict(type="CheckedLoadImageFromFile")]


@pytest.mark.slow
def test_train_det_names_a_truncated_training_image(det_data, weight_files, tmp_path):
    data = Path(shutil.copytree(det_data, tmp_path / "data"))
    image = data / "VOCdevkit" / "VOC2007" / "JPEGImages" / "trainval_00001.jpg"
    image.write_bytes(image.read_bytes()[:600])
    result = run_tool("train_det.py", [
        str(DEMO / "faster-rcnn_r18_fpn_ce-backbone_8e_demo.py"), "--work-dir", str(tmp_path / "work"), "--cfg-options",
        f"data_root={data}/VOCdevkit/", f"backbone_checkpoint={weight_files['resnet18']}",
        "train_dataloader.num_workers=1", "train_dataloader.batch_size=2"])
    assert result.returncode == 1, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: cannot decode image {image}: JPEG data ends before its end-of-image marker (truncated file?)")
