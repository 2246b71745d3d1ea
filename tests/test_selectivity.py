"""tools/visualize_selectivity.py and nst_det.selectivity with small random ResNets."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import functional as TF

from nst_det.engine.cli import run_cli
from nst_det.losses import nst_mmd2, selectivity_maps
from nst_det.pretrain.classifiers import build_classifier
from nst_det.selectivity import (
    compare_selectivity,
    load_classifier,
    load_image,
    preprocess,
    rank_channels,
    selectivity_figure,
    tap_features,
)
from nst_det.taps import FeatureTaps
from nst_det.utils.errors import NSTDetError

ROOT = Path(__file__).resolve().parents[1]
CROP, RESIZE = 64, 72


def _load_tool():
    spec = importlib.util.spec_from_file_location("visualize_selectivity", ROOT / "tools" / "visualize_selectivity.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


visualize = _load_tool()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("selectivity")
    torch.manual_seed(0)
    r18_a, r18_b = build_classifier("resnet18", 5), build_classifier("resnet18", 5)
    r34 = build_classifier("resnet34", 7)
    paths = {"r18_a": root / "r18_a.pth", "r18_b": root / "r18_b.pth", "r34": root / "r34.pth",
             "backbone": root / "backbone_resnet18.pth", "mmpretrain": root / "mmpre.pth",
             "broken_backbone": root / "broken.pth"}
    torch.save(r18_a.state_dict(), paths["r18_a"])
    torch.save(r18_b.state_dict(), paths["r18_b"])
    torch.save(r34.state_dict(), paths["r34"])
    backbone = {k: v for k, v in r18_b.state_dict().items() if not k.startswith("fc.")}
    torch.save(backbone, paths["backbone"])
    torch.save({"state_dict": {("head." if k.startswith("fc.") else "backbone.") + k: v
                               for k, v in r34.state_dict().items()}}, paths["mmpretrain"])
    torch.save({k: v for k, v in backbone.items() if k != "layer4.1.bn2.weight"}, paths["broken_backbone"])
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, size=(80, 96, 3), dtype=np.uint8)
    pixels[20:60, 30:70] = (230, 20, 200)
    Image.fromarray(pixels).save(root / "image.jpg")
    paths["image"] = root / "image.jpg"
    (root / "notes.txt").write_text("not an image")
    paths["text"] = root / "notes.txt"
    return paths


def _independent_features(path: Path, arch: str, num_classes: int, tap: str, image: Path) -> torch.Tensor:
    """The tapped features computed without nst_det.selectivity: torchvision model, own transform."""
    model = build_classifier(arch, num_classes)
    model.load_state_dict(torch.load(path, weights_only=True))
    model.eval()
    with Image.open(image) as img:
        img = img.convert("RGB")
    pixels = TF.center_crop(TF.pil_to_tensor(TF.resize(img, RESIZE, antialias=True)), CROP).float()
    mean = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
    with FeatureTaps(model, [tap], detach=True) as taps, torch.no_grad():
        model(((pixels - mean) / std)[None])
        return taps[tap]


def _title_mmd2(fig) -> float:
    match = re.search(r"MMD² \(poly kernel, d=2\) = ([-+0-9.e]+)", fig._suptitle.get_text())
    assert match, fig._suptitle.get_text()
    return float(match.group(1))


def test_png_written_and_title_mmd2_matches_nst_mmd2(files, tmp_path, capsys):
    out = tmp_path / "fig" / "sel.png"
    argv = [str(files["image"]), "--teacher", str(files["r34"]), "--teacher-arch", "resnet34",
            "--student", str(files["r18_a"]), "--student-arch", "resnet18", "--tap", "layer3",
            "--teacher-tap", "layer4.1.relu:input", "--crop", str(CROP), "--resize", str(RESIZE),
            "--top", "3", "--out", str(out)]
    assert run_cli(visualize.main, argv) == 0
    with Image.open(out) as image:
        image.verify()
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width > 600
        assert np.asarray(image.convert("RGB")).std() > 10
    teacher = _independent_features(files["r34"], "resnet34", 7, "layer4.1.relu:input", files["image"])
    student = _independent_features(files["r18_a"], "resnet18", 5, "layer3", files["image"])
    expected = float(nst_mmd2(student, teacher, kernel="poly")[0])
    assert expected > 1e-4
    printed = float(re.search(r"MMD² \(poly d=2\) = ([-+0-9.e]+)", capsys.readouterr().out).group(1))
    assert printed == pytest.approx(expected, rel=1e-4)

    fig = selectivity_figure(load_image(files["image"]), load_classifier(files["r34"], "resnet34"),
                             load_classifier(files["r18_a"], "resnet18"), "layer4.1.relu:input", "layer3",
                             top=3, crop=CROP, resize=RESIZE)
    assert _title_mmd2(fig) == pytest.approx(expected, rel=1e-4)
    assert fig.comparison.mmd2 == pytest.approx(expected, rel=1e-5)
    assert fig.comparison.teacher_feature.shape == teacher.shape == (1, 512, 2, 2)
    assert fig.comparison.student_feature.shape == student.shape == (1, 256, 4, 4)


def test_identical_teacher_and_student_give_zero_mmd2(files):
    model = load_classifier(files["r18_a"], "resnet18")
    same = load_classifier(files["r18_a"], "resnet18")
    fig = selectivity_figure(load_image(files["image"]), model, same, "layer4", "layer4", crop=CROP, resize=RESIZE)
    assert abs(_title_mmd2(fig)) < 1e-6 and abs(fig.comparison.mmd2) < 1e-6
    other = load_classifier(files["r18_b"], "resnet18")
    fig = selectivity_figure(load_image(files["image"]), model, other, "layer4", "layer4", crop=CROP, resize=RESIZE)
    assert fig.comparison.mmd2 > 1e-4  # different weights: a real distance


def test_ranked_maps_shapes_and_order(files):
    _, inputs = preprocess(load_image(files["image"]), CROP, RESIZE)
    model = load_classifier(files["r34"], "resnet34")
    feature = tap_features(model, inputs, "layer3")
    assert feature.shape == (1, 256, 4, 4)
    ranked = rank_channels(feature, top=5)
    assert ranked.channels.shape == (5,) and ranked.scores.shape == (5,) and ranked.maps.shape == (5, 4, 4)
    assert ranked.mean_map.shape == (4, 4) and ranked.shape == (256, 4, 4)
    peaks = feature[0].flatten(1).amax(1)
    assert torch.equal(ranked.scores, peaks.sort(descending=True).values[:5])
    assert torch.equal(ranked.maps, feature[0, ranked.channels])
    torch.testing.assert_close(ranked.mean_map.flatten(), selectivity_maps(feature)[0].mean(0))
    by_mean = rank_channels(feature[0], top=3, rank_by="mean")
    assert torch.equal(by_mean.scores, feature[0].flatten(1).mean(1).sort(descending=True).values[:3])
    assert rank_channels(feature, top=10_000).maps.shape == (256, 4, 4)  # top is capped at C
    result = compare_selectivity(inputs, model, load_classifier(files["r18_a"], "resnet18"), "layer3", "layer2",
                                 top=2)
    assert result.teacher.maps.shape == (2, 4, 4) and result.student.maps.shape == (2, 8, 8)


def test_checkpoint_formats(files):
    # num_classes from fc.weight; mmpretrain layout; backbone export without fc
    assert load_classifier(files["r34"], "resnet34").fc.out_features == 7
    mm = load_classifier(files["mmpretrain"], "resnet34")
    torch.testing.assert_close(mm.state_dict()["layer1.0.conv1.weight"],
                               torch.load(files["r34"], weights_only=True)["layer1.0.conv1.weight"])
    backbone = load_classifier(files["backbone"], "resnet18", num_classes=3)
    assert backbone.fc.out_features == 3
    torch.testing.assert_close(backbone.state_dict()["layer4.1.bn2.weight"],
                               torch.load(files["r18_b"], weights_only=True)["layer4.1.bn2.weight"])
    assert not backbone.training


def test_errors(files, tmp_path, capsys):
    base = ["--teacher", str(files["r18_a"]), "--teacher-arch", "resnet18", "--student", str(files["r18_b"]),
            "--student-arch", "resnet18", "--crop", str(CROP), "--resize", str(RESIZE),
            "--out", str(tmp_path / "x.png")]
    image = str(files["image"])

    def swap(flag: str, value: str) -> list[str]:
        argv = list(base)
        argv[argv.index(flag) + 1] = value
        return [image] + argv

    cases = [
        ([str(tmp_path / "missing.jpg")] + base, "image", "does not exist"),
        ([str(files["text"])] + base, str(files["text"]), "is not an image"),
        ([image] + base + ["--tap", "layer9"], "tap 'layer9'", "has no submodule 'layer9'"),
        ([image] + base + ["--teacher-tap", "fc"], "tap 'fc'", "not a (B, C, H, W) feature map"),
        (swap("--teacher-arch", "resnet50"), "teacher checkpoint", "does not fit the resnet50"),
        (swap("--student", str(files["r34"])), "student checkpoint", "does not fit the resnet18"),
        (swap("--student", str(files["broken_backbone"])), "student checkpoint",
         "keys missing: 'layer4.1.bn2.weight'"),
        ([image] + base + ["--num-classes", "9"], "teacher checkpoint", "'fc.weight (file (5, 512), model (9, 512))'"),
        (swap("--teacher", str(tmp_path / "nope.pth")), "nope.pth", ""),
        (swap("--out", str(tmp_path / "x.jpg")), "--out", "ending in .png"),
        ([image] + base + ["--top", "0"], "top must be a positive integer", ""),
    ]
    for argv, where, what in cases:
        assert run_cli(visualize.main, argv) == 1, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and where in err and what in err, (argv, err)
        assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.png").exists()
    with pytest.raises(NSTDetError, match="rank_by"):
        rank_channels(torch.randn(4, 2, 2), rank_by="entropy")
