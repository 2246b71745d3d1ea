"""The device-side ImageNet data path against the PIL path: same boxes and flips, same pixels (within
resampling differences), the CPU fallback for PNG/grayscale/CMYK files, seeding, and a damaged JPEG named."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tooling import PRETRAIN, ROOT, run_tool, tiny_options

from nst_det.pretrain.data import ImageFolderDataset
from nst_det.pretrain.device_data import (
    DeviceDecodePreprocessor,
    EncodedImageFolderDataset,
    crop_resize,
    encoded_collate,
    jpeg_components,
)
from nst_det.utils.errors import NSTDetError

KINDS = {"rgb.JPEG": dict(format="JPEG", quality=95), "exif.jpg": dict(format="JPEG", quality=95, exif=b"Exif\0\0"),
         "plain.png": dict(format="PNG"), "gray.jpg": dict(format="JPEG", quality=95, mode="L"),
         "cmyk.jpg": dict(format="JPEG", quality=95, mode="CMYK")}


def smooth_picture(height: int, width: int, shift: int) -> np.ndarray:
    """Low-frequency colour patterns: resampling filters agree on them to a grey level or so."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    return np.stack([127 + 120 * np.sin(xx / 23 + shift), 127 + 120 * np.cos(yy / 17),
                     127 + 120 * np.sin((xx + yy) / 31 + shift)], -1).astype(np.uint8)


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    """2 classes × every file kind, in train and val, of several sizes (portrait and landscape)."""
    root = tmp_path_factory.mktemp("imagenet")
    for split in ("train", "val"):
        for label, (height, width) in enumerate([(150, 200), (210, 140)]):
            folder = root / split / f"class{label}"
            folder.mkdir(parents=True)
            for shift, (name, spec) in enumerate(KINDS.items()):
                spec = dict(spec)
                picture = smooth_picture(height + shift, width - shift, shift)
                image = Image.fromarray(picture).convert(spec.pop("mode", "RGB"))
                image.save(folder / name, **spec)
    return root


def test_jpeg_headers_are_read_without_decoding(image_folder):
    folder = image_folder / "train" / "class0"
    assert {name: jpeg_components((folder / name).read_bytes()) for name in KINDS} == {
        "rgb.JPEG": 3, "exif.jpg": 3, "plain.png": None, "gray.jpg": 1, "cmyk.jpg": 4}
    assert jpeg_components(b"\xff\xd8\xff\xe0\x00") is None and jpeg_components(b"GIF89a") is None


@pytest.mark.parametrize("split", ["train", "val"])
def test_device_path_gives_the_pil_paths_crops(split, image_folder):
    cpu = ImageFolderDataset(str(image_folder), split, crop_size=48, resize_size=56, crop_scale=(0.2, 1.0))
    device = EncodedImageFolderDataset(str(image_folder), split, crop_size=48, resize_size=56, crop_scale=(0.2, 1.0))
    items = [device[(index, 7, 3)] for index in range(len(device))]
    assert [item["inputs"].encoded for item in items] == [Path(p).name in ("rgb.JPEG", "exif.jpg")
                                                           for p, _ in device.samples]
    batch = DeviceDecodePreprocessor(crop_size=48, mean=[0, 0, 0], std=[1, 1, 1])(encoded_collate(items), True)
    for index, output in enumerate(batch["inputs"]):
        reference = cpu[(index, 7, 3)]["inputs"].float()
        assert (output - reference).abs().mean() < 1.0, device.samples[index]  # resampling differences only
    assert torch.equal(batch["data_samples"], torch.tensor([label for _, label in device.samples]))
    if split == "train":  # a different draw gives other crops: the comparison above can fail
        other = cpu[(0, 8, 3)]["inputs"].float()
        assert (batch["inputs"][0] - other).abs().mean() > 5


COMPILED_PREPROCESSOR = """
import sys, torch
from nst_det.pretrain.device_data import DeviceDecodePreprocessor, EncodedImageFolderDataset, encoded_collate
dataset = EncodedImageFolderDataset(sys.argv[1], "train", crop_size=48)
batch = lambda: encoded_collate([dataset[(index, 7, 3)] for index in range(len(dataset))])
preprocessor = DeviceDecodePreprocessor(crop_size=48, mean=[0, 0, 0], std=[1, 1, 1])
compiled = torch.compile(lambda data: preprocessor(data, True), backend="eager")
assert torch.equal(compiled(batch())["inputs"], preprocessor(batch(), True)["inputs"])
print("same crops")
"""


@pytest.mark.slow
def test_decoding_runs_eagerly_inside_a_compiled_step(image_folder):
    """mmengine's ``compile=True`` compiles the whole train_step, this preprocessor included; traced
    decoding crashed (a segfault on CPU, a fake-tensor error from nvJPEG on CUDA), so it runs in a
    fresh interpreter."""
    result = subprocess.run([sys.executable, "-c", COMPILED_PREPROCESSOR, str(image_folder)],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0 and "same crops" in result.stdout, result.stderr[-2000:]


def test_geometry_is_a_function_of_seed_epoch_and_index(image_folder):
    device = EncodedImageFolderDataset(str(image_folder), "train", crop_size=48)
    first, again, next_epoch = device[(3, 1, 0)]["inputs"], device[(3, 1, 0)]["inputs"], device[(3, 1, 1)]["inputs"]
    assert torch.equal(first.box, again.box) and first.flip == again.flip
    assert not torch.equal(first.box, next_epoch.box)


def test_shrinking_is_antialiased():
    stripes = torch.zeros(3, 64, 256, dtype=torch.uint8)
    stripes[..., ::2] = 255  # 1-pixel stripes: without a filter, a 8x shrink lands on one colour
    out = crop_resize([stripes], torch.tensor([[0.0, 0.0, 256.0, 64.0]]), 32)
    assert (out - 127.5).abs().max() < 2


def test_a_damaged_jpeg_is_named_when_the_batch_is_decoded(image_folder, tmp_path):
    folder = tmp_path / "train" / "a"
    folder.mkdir(parents=True)
    good = (image_folder / "train" / "class0" / "rgb.JPEG").read_bytes()
    (folder / "good.JPEG").write_bytes(good)
    (folder / "damaged.JPEG").write_bytes(good[:len(good) // 2])
    dataset = EncodedImageFolderDataset(str(tmp_path), "train", crop_size=32)
    batch = encoded_collate([dataset[(i, 0, 0)] for i in range(2)])
    with pytest.raises(NSTDetError, match=r"cannot decode image .*damaged\.JPEG: Image is incomplete or truncated "
                                          r"\(a damaged JPEG"):
        DeviceDecodePreprocessor(crop_size=32)(batch, True)
    (folder / "damaged.JPEG").write_bytes(b"not an image at all")
    with pytest.raises(NSTDetError, match=r"cannot decode image .*damaged\.JPEG"):
        EncodedImageFolderDataset(str(tmp_path), "train", crop_size=32)[(0, 0, 0)]


@pytest.mark.slow
def test_pretraining_with_the_device_data_path(tmp_path, tiny_data):
    teacher = tmp_path / "teacher.pth"
    import torchvision

    torch.save(torchvision.models.resnet34(num_classes=5).state_dict(), teacher)
    result = run_tool(PRETRAIN, [str(ROOT / "configs/distill/imagenet/nst/nst_r34_r18_8e_demo-device-decode.py"),
                                 "--work-dir",
                       str(tmp_path / "work"), "--cfg-options", *tiny_options(tiny_data),
                       f"teacher_checkpoint={teacher}",
                       "model.data_preprocessor.crop_size=32", "train_dataloader.num_workers=2"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Epoch(train) [2][5/5]" in result.stdout and "accuracy/top1" in result.stdout
    assert (tmp_path / "work" / "backbone_resnet18.pth").is_file()
