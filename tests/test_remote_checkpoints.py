"""Teachers and backbones by URL and by torchvision weights name, served over loopback as a model zoo would.

An HTTP server on 127.0.0.1 (a thread of the test) serves generated checkpoints: one that loads, a transfer
cut short, a truncated file, one whose SHA-256 differs from the prefix in its name, and a pickle that would
create a file. Downloads go to torch's hub cache (a temporary one here), through the one safe reader.
"""
from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from pathlib import Path

import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.runner.checkpoint import CheckpointLoader, get_torchvision_models
from tooling import write_malicious_checkpoint

from nst_det.det import build_teacher
from nst_det.engine import remote_checkpoints
from nst_det.engine.preflight import check_checkpoints
from nst_det.pretrain.models import ClassifierDistiller
from nst_det.registry import MODELS
from nst_det.utils.download import cache_path, fetch, url_of
from nst_det.utils.errors import NSTDetError
from nst_det.utils.weights import read_state_dict

from det_fixtures import TEACHER_CONFIG, feature_checkpoint


class ZooHandler(http.server.SimpleHTTPRequestHandler):
    """Serves its folder; ``/cut/<file>`` announces the whole file but sends half and hangs up."""

    def do_GET(self):  # noqa: N802  (http.server's name)
        if not self.path.startswith("/cut/"):
            return super().do_GET()
        data = (Path(self.directory) / self.path[len("/cut/"):]).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[:len(data) // 2])
        self.close_connection = True

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def zoo(tmp_path):
    """``(folder, base URL)`` of a model zoo on 127.0.0.1 serving ``folder``."""
    folder = tmp_path / "zoo"
    folder.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(ZooHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def hub(tmp_path):
    """A fresh torch hub cache; returns its ``checkpoints`` folder."""
    previous = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    yield tmp_path / "hub" / "checkpoints"
    torch.hub.set_dir(previous)


def resnet_state_dict(arch: str = "resnet18", num_classes: int = 4) -> dict:
    torch.manual_seed(0)
    return getattr(torchvision.models, arch)(num_classes=num_classes).state_dict()


def cached_files(hub: Path) -> list[str]:
    return sorted(p.name for p in hub.iterdir()) if hub.is_dir() else []


def test_torchvision_names_resolve_through_torchvision_weights_registry():
    assert url_of("torchvision://ResNet101_Weights.IMAGENET1K_V1") == \
        "https://download.pytorch.org/models/resnet101-63fe2227.pth"
    assert url_of("torchvision://ResNet101_Weights.IMAGENET1K_V2") == \
        "https://download.pytorch.org/models/resnet101-cd907fc2.pth"
    # mmengine's names, as stock mmdet configs use them (torchvision://resnet50): mmengine's table
    assert url_of("torchvision://resnet50") == get_torchvision_models()["resnet50"]
    assert url_of("https://example.org/a/b.pth") == "https://example.org/a/b.pth"
    with pytest.raises(NSTDetError, match="torchvision has no such weights"):
        url_of("torchvision://ResNet101_Weights.IMAGENET9K")


def test_mmengine_loads_urls_and_zoo_names_through_the_project_path():
    for prefix in ("http://", "https://", "torchvision://", "modelzoo://", "open-mmlab://", "mmcls://"):
        loader = CheckpointLoader._get_checkpoint_loader(f"{prefix}x/y.pth")
        assert loader.__module__ == remote_checkpoints.__name__, prefix


def test_a_checkpoint_by_url_downloads_once_into_the_hub_cache_and_loads_everywhere(zoo, hub, tmp_path):
    folder, base = zoo
    weights = resnet_state_dict()
    torch.save(weights, folder / "teacher.pth")
    url = f"{base}/teacher.pth"

    loaded = read_state_dict(url, what="teacher checkpoint")  # the reader every tool uses
    assert cached_files(hub) == ["teacher.pth"] and cache_path(url) == hub / "teacher.pth"
    assert all(torch.equal(loaded[k], v) for k, v in weights.items())
    # an ImageNet-stage teacher named by its URL, as mmrazor's configs name teachers
    distiller = ClassifierDistiller(student=dict(arch="resnet18", num_classes=4),
                                    teacher=dict(arch="resnet18", num_classes=4, checkpoint=url),
                                    distill=dict(taps=[("layer4", "layer4")]))
    assert torch.equal(distiller.teacher.fc.weight, weights["fc.weight"])
    # mmengine's own paths: load_from (checked up front by the preflight), Pretrained init_cfg
    check_checkpoints(Config(dict(load_from=url, work_dir=str(tmp_path))))
    assert torch.equal(CheckpointLoader.load_checkpoint(url)["fc.weight"], weights["fc.weight"])
    backbone = MODELS.build(dict(type="mmdet.ResNet", depth=18, init_cfg=dict(type="Pretrained", checkpoint=url)))
    backbone.init_weights()
    assert torch.equal(backbone.conv1.weight, weights["conv1.weight"])

    (folder / "teacher.pth").unlink()  # from now on only the cache has it: no download
    assert torch.equal(read_state_dict(url)["fc.weight"], weights["fc.weight"])


def test_a_detection_teacher_by_url(zoo, hub):
    folder, base = zoo
    feature_checkpoint(TEACHER_CONFIG, folder / "teacher_det.pth")
    teacher = build_teacher(str(TEACHER_CONFIG), f"{base}/teacher_det.pth")
    expected = torch.load(folder / "teacher_det.pth", weights_only=True)["state_dict"]["backbone.conv1.weight"]
    assert torch.equal(teacher.backbone.conv1.weight, expected)


def test_the_sha256_prefix_in_the_name_is_checked(zoo, hub):
    folder, base = zoo
    torch.save(resnet_state_dict(), folder / "plain.pth")
    digest = hashlib.sha256((folder / "plain.pth").read_bytes()).hexdigest()
    (folder / f"resnet18-{digest[:8]}.pth").write_bytes((folder / "plain.pth").read_bytes())
    (folder / "resnet18-deadbeef.pth").write_bytes((folder / "plain.pth").read_bytes())
    assert fetch(f"{base}/resnet18-{digest[:8]}.pth", progress=False).is_file()
    with pytest.raises(NSTDetError, match=f"SHA-256 begins {digest[:8]}, not deadbeef") as error:
        fetch(f"{base}/resnet18-deadbeef.pth", progress=False)
    assert "\n" not in str(error.value)
    assert cached_files(hub) == [f"resnet18-{digest[:8]}.pth"]  # nothing kept of the mismatch


def test_a_transfer_cut_short_or_a_truncated_file_is_refused_and_not_cached(zoo, hub):
    folder, base = zoo
    torch.save(resnet_state_dict(), folder / "whole.pth")
    data = (folder / "whole.pth").read_bytes()
    (folder / "truncated.pth").write_bytes(data[:len(data) // 3])
    with pytest.raises(NSTDetError, match=r"stopped after \d+ of \d+ bytes; nothing was kept"):
        fetch(f"{base}/cut/whole.pth", what="teacher checkpoint", progress=False)
    with pytest.raises(NSTDetError, match="not a readable PyTorch checkpoint") as error:
        fetch(f"{base}/truncated.pth", what="teacher checkpoint", progress=False)
    assert f"{base}/truncated.pth" in str(error.value) and "\n" not in str(error.value)
    assert cached_files(hub) == []


def test_a_malicious_checkpoint_by_url_is_refused_and_runs_nothing(zoo, hub, tmp_path):
    folder, base = zoo
    marker = tmp_path / "pwned"
    write_malicious_checkpoint(folder / "evil.pth", creates=marker)
    for load in (lambda url: read_state_dict(url, what="teacher checkpoint"), CheckpointLoader.load_checkpoint):
        with pytest.raises(NSTDetError, match="refusing it"):
            load(f"{base}/evil.pth")
    assert not marker.exists() and cached_files(hub) == []


def test_offline_one_line_names_the_file_to_put_where(hub, monkeypatch):
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")  # no network: every https request is refused
    monkeypatch.setenv("no_proxy", "")
    name = "torchvision://ResNet18_Weights.IMAGENET1K_V1"
    with pytest.raises(NSTDetError) as error:
        fetch(name, what="teacher checkpoint", progress=False)
    message = str(error.value)
    assert "\n" not in message and message.endswith(f"without network, put the file at {hub}/resnet18-f37072fd.pth")
    assert cached_files(hub) == []

    hub.mkdir(parents=True, exist_ok=True)
    weights = resnet_state_dict(num_classes=1000)
    torch.save(weights, hub / "resnet18-f37072fd.pth")  # where the message said: used as it is, no network
    distiller = ClassifierDistiller(student=dict(arch="resnet18", num_classes=1000),
                                    teacher=dict(arch="resnet18", num_classes=1000, checkpoint=name),
                                    distill=dict(taps=[("layer4", "layer4")]))
    assert torch.equal(distiller.teacher.conv1.weight, weights["conv1.weight"])
