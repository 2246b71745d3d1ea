"""The URL and model-zoo schemes of mmengine's ``CheckpointLoader``, through the project's download and reader.

mmengine registers loaders for ``http://``/``https://``, ``torchvision://``/``modelzoo://``,
``open-mmlab://``/``openmmlab://`` and ``mmcls://`` that call its own ``torch.load``. Registering ours
for the same prefixes (``force=True``) routes ``load_from``, ``Pretrained`` backbone ``init_cfg`` and
``load_checkpoint`` with those names through :func:`~nst_det.utils.download.fetch` (torch's hub cache,
length and hash checks) and the one safe reader (:func:`~nst_det.utils.checkpoint.load_from_local`).
"""
from __future__ import annotations

from typing import Any

from mmengine.runner.checkpoint import CheckpointLoader, _process_mmcls_checkpoint

from nst_det.utils.checkpoint import load_from_local
from nst_det.utils.download import URL_PREFIXES, fetch


# mmengine logs f"Loads checkpoint by {name[10:]} backend": the function names keep its words
def load_from_http(filename: str, map_location: Any = None) -> Any:
    """A URL: downloaded once into torch's hub cache, then read as data."""
    return load_from_local(str(fetch(filename)), map_location)


def load_from_torchvision(filename: str, map_location: Any = None) -> Any:
    """``torchvision://<WeightsEnum>`` (or mmengine's ``torchvision://resnet50``): its URL, as above."""
    return load_from_local(str(fetch(filename)), map_location)


def load_from_openmmlab(filename: str, map_location: Any = None) -> Any:
    """``open-mmlab://<name>``: the URL mmengine's model-zoo table gives it, as above."""
    return load_from_local(str(fetch(filename)), map_location)


def load_from_mmcls(filename: str, map_location: Any = None) -> Any:
    """``mmcls://<name>``: as above, with mmengine's key conversion of mmcls classifiers."""
    return _process_mmcls_checkpoint(load_from_local(str(fetch(filename)), map_location))


CheckpointLoader.register_scheme(prefixes=URL_PREFIXES, loader=load_from_http, force=True)
CheckpointLoader.register_scheme(prefixes=("torchvision://", "modelzoo://"), loader=load_from_torchvision, force=True)
CheckpointLoader.register_scheme(prefixes=("open-mmlab://", "openmmlab://"), loader=load_from_openmmlab, force=True)
CheckpointLoader.register_scheme(prefixes="mmcls://", loader=load_from_mmcls, force=True)
