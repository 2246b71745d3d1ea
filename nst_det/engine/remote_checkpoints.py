"""The URL and model-zoo schemes of mmengine's ``CheckpointLoader``, through the project's download and reader.

mmengine registers loaders for ``http://``/``https://``, ``torchvision://``/``modelzoo://``,
``open-mmlab://``/``openmmlab://`` and ``mmcls://`` that call its own ``torch.load``. Registering ours
for the same prefixes (``force=True``) routes ``load_from``, ``Pretrained`` backbone ``init_cfg`` and
``load_checkpoint`` with those names through :func:`~nst_det.utils.download.fetch` (torch's hub cache,
length and hash checks) and the one safe reader (:func:`~nst_det.engine.checkpoint_loader.load_from_local`).

mmengine's model-zoo tables (``open-mmlab://``, ``mmcls://``, and its ``torchvision://resnet50`` names) are
added to :data:`nst_det.utils.download.MODEL_ZOOS`, so every path that takes a checkpoint name resolves them.
"""
from __future__ import annotations

from typing import Any

from mmengine.runner import checkpoint as mm
from mmengine.runner.checkpoint import CheckpointLoader, _process_mmcls_checkpoint

from nst_det.engine.checkpoint_loader import load_from_local
from nst_det.utils.download import MODEL_ZOOS, URL_PREFIXES, fetch
from nst_det.utils.errors import NSTDetError


def torchvision_table_url(name: str) -> str:
    """``torchvision://resnet50`` (the 0.12 file names), ``torchvision://resnet50.imagenet1k_v1``: mmengine's table."""
    weights = name.partition("://")[2]
    table = mm.get_torchvision_models()
    key = weights.lower().replace("_weights", "")
    if key in table:
        return table[key]
    raise NSTDetError(f"torchvision://{weights}: torchvision has no such weights; name a weights enum entry, "
                      "e.g. torchvision://ResNet101_Weights.IMAGENET1K_V1 (see torchvision.models.get_model_weights)")


def zoo_url(name: str) -> str:
    """An ``open-mmlab://`` / ``mmcls://`` name -> its URL (mmengine's tables, deprecated names followed)."""
    scheme, _, model = name.partition("://")
    if scheme == "mmcls":
        table = mm.get_mmcls_models()
    else:
        table = mm.get_external_models()
        model = mm.get_deprecated_model_names().get(model, model)
    url = table.get(model)
    if url is None or not url.startswith(URL_PREFIXES):
        raise NSTDetError(f"{name}: mmengine's model zoo has no downloadable file of that name")
    return url


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


MODEL_ZOOS.update({"torchvision": torchvision_table_url, "modelzoo": torchvision_table_url,
                   "open-mmlab": zoo_url, "openmmlab": zoo_url, "mmcls": zoo_url})
CheckpointLoader.register_scheme(prefixes=URL_PREFIXES, loader=load_from_http, force=True)
CheckpointLoader.register_scheme(prefixes=("torchvision://", "modelzoo://"), loader=load_from_torchvision, force=True)
CheckpointLoader.register_scheme(prefixes=("open-mmlab://", "openmmlab://"), loader=load_from_openmmlab, force=True)
CheckpointLoader.register_scheme(prefixes="mmcls://", loader=load_from_mmcls, force=True)
