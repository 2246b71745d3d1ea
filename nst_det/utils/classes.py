"""The class count of a stage, set in one place: the config's top-level ``num_classes`` (or ``classes_from``).

mmengine substitutes a config's variables when the file is read, so ``--cfg-options num_classes=100``
would change the variable and leave every head at the old count. :func:`update_class_count` (called by
:func:`~nst_det.engine.cli.merge_options`, so by every tool) carries the change into the model:

* a new top-level ``num_classes`` (given in ``--cfg-options``, or from ``classes_from``) is set on every
  ``num_classes`` inside ``model`` that held the config's previous top-level value — or on every one, when
  the config had no top-level ``num_classes`` (stock mmdet configs): the ImageNet stage's student and
  teacher classifiers, each detection head (``roi_head.bbox_head``, Cascade R-CNN's three, RetinaNet/FCOS/
  YOLOX/RTMDet ``bbox_head``, mask heads), in a distiller's ``student`` too. RPN heads are class-agnostic
  and keep theirs; a nested key given in the same ``--cfg-options`` (``model.teacher.num_classes=1000``)
  keeps the value given.
* ``classes_from = '<COCO annotation file>'``: the class names are that file's categories (ordered by id);
  every dataset of the train/val/test loaders gets ``metainfo=dict(classes=...)`` and ``num_classes``
  becomes their count, as above.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Optional

from nst_det.utils.errors import NSTDetError

CLASS_AGNOSTIC = ("RPN",)  # head types containing this keep their num_classes (RPNHead, GARPNHead, ...)
LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")


def _class_count_keys(node: Any, path: str) -> Iterator[tuple[dict, str]]:
    """``(dict, dotted path)`` of every dict under ``node`` holding a ``num_classes`` of a class-aware head."""
    if isinstance(node, dict):
        if "num_classes" in node and not any(tag in str(node.get("type", "")) for tag in CLASS_AGNOSTIC):
            yield node, f"{path}.num_classes"
        for key, value in node.items():
            yield from _class_count_keys(value, f"{path}.{key}")
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _class_count_keys(value, f"{path}.{index}")


def set_head_classes(cfg: Any, new: int, old: Optional[int], keep: frozenset = frozenset()) -> list[str]:
    """Set ``num_classes`` to ``new`` in ``cfg.model`` wherever it was ``old`` (everywhere, if ``old`` is
    ``None``), except class-agnostic heads and the dotted paths in ``keep``. Returns the paths changed."""
    changed = []
    for node, path in _class_count_keys(cfg.get("model"), "model"):
        if path not in keep and (old is None or node["num_classes"] == old) and node["num_classes"] != new:
            node["num_classes"] = new
            changed.append(path)
    return changed


def coco_category_names(path: str) -> tuple[str, ...]:
    """The category names of a COCO annotation file, ordered by category id."""
    try:
        categories = json.loads(Path(path).read_text()).get("categories")
    except FileNotFoundError:
        raise NSTDetError(f"classes_from {path}: no such file") from None
    except (OSError, ValueError, AttributeError) as exc:
        raise NSTDetError(f"classes_from {path} is not a COCO annotation file: {exc}") from None
    valid = isinstance(categories, list) and categories and all(
        isinstance(c, dict) and isinstance(c.get("id"), int) and isinstance(c.get("name"), str) for c in categories)
    if not valid:
        raise NSTDetError(f"classes_from {path}: 'categories' must be a non-empty list of {{id, name}} objects")
    names = [c["name"] for c in sorted(categories, key=lambda c: c["id"])]
    if len(set(names)) != len(names):
        raise NSTDetError(f"classes_from {path}: category names repeat ({names})")
    return tuple(names)


def _datasets(node: Any) -> Iterator[dict]:
    """The innermost dataset dicts of a loader's ``dataset`` (through Repeat/Concat/ClassBalanced wrappers)."""
    if not isinstance(node, dict):
        return
    inner = node.get("datasets") or ([node["dataset"]] if isinstance(node.get("dataset"), dict) else None)
    if inner:
        for child in inner:
            yield from _datasets(child)
    else:
        yield node


def set_dataset_classes(cfg: Any, names: tuple[str, ...]) -> None:
    """``metainfo.classes = names`` on every dataset of the train/val/test loaders."""
    for loader in LOADERS:
        if isinstance(cfg.get(loader), dict):
            for dataset in _datasets(cfg[loader].get("dataset")):
                metainfo = dict(dataset.get("metainfo") or {})
                metainfo["classes"] = names
                dataset["metainfo"] = metainfo


def update_class_count(cfg: Any, previous: Optional[int], options: dict) -> list[str]:
    """Carry the top-level ``num_classes`` (``classes_from``) into the model and datasets, in place.

    Args:
        cfg: the config, ``--cfg-options`` already merged.
        previous: the top-level ``num_classes`` the config file itself set (``None`` if none).
        options: the ``--cfg-options`` given (their nested ``num_classes`` keys are kept as given).

    Returns:
        The dotted paths of the ``num_classes`` changed.
    """
    if cfg.get("classes_from"):
        names = coco_category_names(cfg.classes_from)
        set_dataset_classes(cfg, names)
        cfg.num_classes = len(names)
    new = cfg.get("num_classes")
    if new is None or new == previous:
        return []
    if not isinstance(new, int) or isinstance(new, bool) or new < 1:
        raise NSTDetError(f"num_classes must be a positive integer, got {new!r}")
    keep = frozenset(key for key in options if key.endswith(".num_classes"))
    return set_head_classes(cfg, new, previous, keep)
