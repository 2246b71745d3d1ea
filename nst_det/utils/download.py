"""Checkpoints named by URL or by torchvision weights: downloaded once into torch's hub cache, then read as data.

Names a config may give wherever it takes a checkpoint file (``teacher.checkpoint``, ``backbone_checkpoint`` /
``init_cfg.checkpoint``, ``load_from``):

* ``https://...`` / ``http://...``, e.g. an OpenMMLab model-zoo file, as mmrazor's configs name teachers;
* ``torchvision://<WeightsEnum>``, e.g. ``torchvision://ResNet101_Weights.IMAGENET1K_V1``: the URL comes
  from torchvision's weights registry (:func:`torchvision.models.get_weight`; no model is built), and
  mmengine's names (``torchvision://resnet50``, ``resnet50.imagenet1k_v2``) keep meaning what they mean
  in stock mmdet configs;
* ``open-mmlab://<name>`` / ``openmmlab://`` and ``mmcls://<name>``: mmengine's model-zoo tables.

mmengine's tables (the last item, and mmengine's ``torchvision://`` names) are looked up through
:data:`MODEL_ZOOS`, which :mod:`nst_det.engine.remote_checkpoints` fills: this module needs no mmengine.

:func:`fetch` downloads to ``torch.hub.get_dir()/checkpoints/<file name>`` (where ``torch.hub`` puts it)
with a progress bar, checks the byte count against ``Content-Length`` and, where the file name carries
one (``resnet101-63fe2227.pth``, torch.hub's ``-<sha256 prefix>.`` convention), the SHA-256 prefix, and
reads the file with the one safe reader before it takes its final name, so a truncated, corrupt or
hostile download never sits in the cache. A file already there is used as it is, with no network.
"""
from __future__ import annotations

import hashlib
import os
import re
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import urlparse

from nst_det.utils.checkpoint import PathLike, read_checkpoint
from nst_det.utils.errors import NSTDetError

URL_PREFIXES = ("http://", "https://")
ZOO_PREFIXES = ("torchvision://", "modelzoo://", "open-mmlab://", "openmmlab://", "mmcls://")
REMOTE_PREFIXES = URL_PREFIXES + ZOO_PREFIXES
# model-zoo scheme -> lookup of a whole name (``open-mmlab://x``) giving its URL (raising NSTDetError for none), for
# the names torchvision's weights registry does not resolve: mmengine's tables, which nst_det.engine.remote_checkpoints
# adds here (this layer needs no mmengine)
MODEL_ZOOS: dict[str, Callable[[str], str]] = {}
HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")  # torch.hub's convention: name-<sha256 prefix>.pth
CHUNK = 1 << 20
TIMEOUT_S = 60


def is_remote(name: object) -> bool:
    """Whether ``name`` is a URL or a model-zoo name this module downloads."""
    return isinstance(name, str) and name.startswith(REMOTE_PREFIXES)


def _torchvision_url(weights: str) -> Optional[str]:
    """``ResNet101_Weights.IMAGENET1K_V1`` -> its URL (torchvision's weights registry), or ``None``."""
    from torchvision.models import get_weight

    try:
        return get_weight(weights).url
    except (ValueError, KeyError, AttributeError, IndexError):
        return None


def url_of(name: str) -> str:
    """The download URL of a remote checkpoint name (see the module docstring).

    Raises:
        NSTDetError: a name no table has, or a model-zoo scheme whose table is not loaded (:data:`MODEL_ZOOS`).
    """
    if name.startswith(URL_PREFIXES):
        return name
    scheme, _, model = name.partition("://")
    url = _torchvision_url(model) if scheme in ("torchvision", "modelzoo") else None
    if url is not None:
        return url
    lookup = MODEL_ZOOS.get(scheme)
    if lookup is None:
        raise NSTDetError(f"{name}: {scheme}:// names are looked up in mmengine's model-zoo tables, which "
                          "nst_det.engine loads (the tools do; a script imports nst_det.register_all first)")
    return lookup(name)


def cache_path(url: str) -> Path:
    """Where ``torch.hub`` keeps the file of ``url``: ``<torch.hub.get_dir()>/checkpoints/<file name>``."""
    import torch.hub

    filename = os.path.basename(urlparse(url).path)
    if not filename:
        raise NSTDetError(f"{url} names no file")
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def _download(url: str, out: Path, progress: bool, label: str) -> str:
    """Write ``url`` to ``out`` (progress bar labelled ``label``); returns the SHA-256 hex digest.
    Raises on a short transfer."""
    from torch.hub import tqdm

    opener = urllib.request.build_opener()  # built per call: reads the proxy settings of now
    request = urllib.request.Request(url, headers={"User-Agent": "nst_det"})
    digest = hashlib.sha256()
    received = 0
    with opener.open(request, timeout=TIMEOUT_S) as response, open(out, "wb") as f:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        with tqdm(total=total, disable=not progress, unit="B", unit_scale=True, unit_divisor=1024,
                  desc=label) as bar:
            while chunk := response.read(CHUNK):
                f.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if total is not None and received != total:
        raise NSTDetError(f"the transfer stopped after {received} of {total} bytes")
    return digest.hexdigest()


def fetch(name: str, what: str = "checkpoint", progress: bool = True) -> Path:
    """The local file of a remote checkpoint name, downloaded into torch's hub cache if it is not there yet.

    Args:
        name: a URL or model-zoo name (:func:`is_remote`).
        what: what the file is meant to be, for messages ("teacher checkpoint", ...).
        progress: show a progress bar while downloading.

    Raises:
        NSTDetError: one line: no network (naming the exact file to put where), an HTTP error, a short
            transfer, a SHA-256 that differs from the prefix in the file name, or a file the safe reader
            refuses (corrupt, hostile). In each case nothing is left in the cache under the final name.
    """
    url = url_of(name)
    shown = url if name == url else f"{name} ({url})"
    target = cache_path(url)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        try:
            digest = _download(url, partial, progress, target.name)
        except urllib.error.HTTPError as exc:
            raise NSTDetError(f"{what} {shown}: the server answered HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc.strerror or exc
            raise NSTDetError(f"{what} {shown} cannot be downloaded ({reason}); without network, put the file at "
                              f"{target}") from None
        except NSTDetError as exc:
            raise NSTDetError(f"{what} {url}: {exc}; nothing was kept. Download it again, or put the file at "
                              f"{target}") from None
        expected = HASH_IN_NAME.search(target.name)
        if expected and not digest.startswith(expected.group(1)):
            raise NSTDetError(f"{what} {url}: the file's SHA-256 begins {digest[:len(expected.group(1))]}, not "
                              f"{expected.group(1)} as its name says (a damaged or substituted file); nothing was kept")
        try:
            read_checkpoint(partial, what=what)  # refuse a truncated or hostile file before it is cached
        except NSTDetError as exc:
            raise NSTDetError(str(exc).replace(str(partial), url) + " (the download was not kept)") from None
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def local_file(path: PathLike, what: str = "checkpoint") -> PathLike:
    """``path`` itself, or for a remote name (:func:`is_remote`) its file in the cache (:func:`fetch`)."""
    return fetch(path, what=what) if is_remote(path) else path
