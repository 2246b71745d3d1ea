"""Up-front checks of the VOC / COCO datasets a config names, with errors that name the file.

mmdet's ``VOCDataset`` and ``CocoDataset`` load the data themselves (no custom dataset class); on
bad input they fail deep inside a DataLoader worker, or not at all (a box outside the image is
silently kept). :func:`check_datasets` walks the dataset configs of a run before the Runner is
built, follows dataset wrappers (``RepeatDataset``, ``ConcatDataset``, ...), reads the annotation
files the evaluators name (``CocoMetric(ann_file=...)``), and raises one :class:`NSTDetError` for the
first problem: a missing folder or file, malformed XML or JSON, a box outside its image, or a missing
image; for VOC also an annotation without objects, or with a class name the dataset does not have.
The last two are allowed by the config's
``data_check = dict(allow_images_without_objects=True, allow_unknown_classes=True)`` (background
images; training on a subset of the annotated classes, whose other objects mmdet skips).
Images are found in their folders' listings (one ``os.scandir`` per folder, not a ``stat`` per image),
with a progress bar; the tools run the check once, on rank 0 (:mod:`nst_det.engine.preflight`).
"""
from __future__ import annotations

import json
import os
import os.path as osp
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence, TypeVar

from mmdet.datasets import CocoDataset, XMLDataset
from mmdet.evaluation import CocoMetric
from mmengine.config import Config
from mmengine.utils import ProgressBar
from PIL import Image

from nst_det.registry import DATASETS, METRICS
from nst_det.utils.errors import NSTDetError

BOX_TOLERANCE = 1.0  # pixels a COCO box may exceed its image (float round-off in real annotations)
_WRAPPED = ("dataset", "datasets")
DATA_CHECK_OPTIONS = ("allow_images_without_objects", "allow_unknown_classes")
EVALUATORS = {"train_dataloader": (), "val_dataloader": ("val_evaluator",), "test_dataloader": ("test_evaluator",)}
T = TypeVar("T")


def _leaf_datasets(dataset_cfg: dict, where: str) -> Iterator[tuple[dict, str]]:
    """Yield ``(dataset config, where)`` for every dataset inside wrappers."""
    for key in _WRAPPED:
        inner = dataset_cfg.get(key)
        if isinstance(inner, dict):
            yield from _leaf_datasets(inner, f"{where}.{key}")
            return
        if isinstance(inner, (list, tuple)):
            for i, sub in enumerate(inner):
                yield from _leaf_datasets(sub, f"{where}.{key}[{i}]")
            return
    yield dataset_cfg, where


def _join(data_root: str, path: str) -> str:
    return path if not data_root or osp.isabs(path) else osp.join(data_root, path)


def progress(items: Iterable[T], total: int, what: str) -> Iterator[T]:
    """``items``, with a progress bar on stdout (updated every 1%)."""
    print(f"checking {what}", flush=True)
    bar, step, done = ProgressBar(total, file=sys.stdout), max(total // 100, 1), 0
    for done, item in enumerate(items, 1):
        if done % step == 0:
            bar.update(step)
        yield item
    if done % step:
        bar.update(done % step)
    sys.stdout.write("\n")


def folder_listing(folder: str) -> set[str]:
    """Names of the files in ``folder`` (one directory read; the file type comes with the listing);
    empty if the folder does not exist."""
    try:
        with os.scandir(folder) as entries:
            return {entry.name for entry in entries if entry.is_file()}
    except (FileNotFoundError, NotADirectoryError):
        return set()


class ListedFiles:
    """Whether files exist, answered from one listing per folder (read when first asked)."""

    def __init__(self) -> None:
        self.listings: dict[str, set[str]] = {}

    def __contains__(self, path: str) -> bool:
        folder, name = osp.split(osp.normpath(path))
        if folder not in self.listings:
            self.listings[folder] = folder_listing(folder)
        return name in self.listings[folder]


def _require(path: str, kind: str, where: str) -> None:
    exists = osp.isdir(path) if kind == "folder" else osp.isfile(path)
    if not exists:
        raise NSTDetError(f"{kind} {path} does not exist ({where}); set the data root in the config "
                          "or with --cfg-options data_root=...")


# ----------------------------------------------------------------------------- VOC
def _number(node: ET.Element, tag: str, path: str) -> float:
    text = node.findtext(tag)
    try:
        return float(text)
    except (TypeError, ValueError):
        raise NSTDetError(f"{path}: malformed annotation, <{tag}> is {text!r}, not a number") from None


def check_voc_annotation(xml_path: str, img_path: str, classes: Sequence[str],
                         allow_images_without_objects: bool = False, allow_unknown_classes: bool = False,
                         image_checked: bool = False) -> int:
    """Check one VOC XML file and its image; returns the number of objects of ``classes``.

    Args:
        allow_images_without_objects: accept an annotation without any ``<object>``.
        allow_unknown_classes: skip objects whose name is not in ``classes`` (as mmdet does)
            instead of refusing the file.
        image_checked: the caller has found the image already (in its folder's listing).
    """
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as exc:
        raise NSTDetError(f"{xml_path}: malformed XML ({exc})") from None
    except OSError as exc:
        raise NSTDetError(f"{xml_path}: cannot read annotation ({exc.strerror or exc})") from None
    if not image_checked and not osp.isfile(img_path):
        raise NSTDetError(f"image file {img_path} does not exist (listed by {xml_path})")
    size = root.find("size")
    if size is not None and size.find("width") is not None:
        width, height = _number(size, "width", xml_path), _number(size, "height", xml_path)
    else:  # mmdet reads the image then, so do we
        try:
            with Image.open(img_path) as image:
                width, height = image.size
        except OSError as exc:
            raise NSTDetError(f"image file {img_path} cannot be read ({exc})") from None
    objects = root.findall("object")
    if not objects and not allow_images_without_objects:
        raise NSTDetError(f"{xml_path}: no <object> in the annotation (an image without boxes; set "
                          f"data_check=dict(allow_images_without_objects=True) if that is intended)")
    count = 0
    for obj in objects:
        name = obj.findtext("name")
        if name not in classes:
            if allow_unknown_classes:
                continue  # mmdet's VOCDataset skips other classes
            shown = ", ".join(classes[:8]) + (", ..." if len(classes) > 8 else "")
            raise NSTDetError(f"{xml_path}: unknown class name {name!r}: not one of the dataset's {len(classes)} "
                              f"classes ({shown}); set data_check=dict(allow_unknown_classes=True) to skip such "
                              f"objects")
        box = obj.find("bndbox")
        if box is None:
            raise NSTDetError(f"{xml_path}: malformed annotation, object {name!r} has no <bndbox>")
        x0, y0, x1, y1 = (_number(box, tag, xml_path) for tag in ("xmin", "ymin", "xmax", "ymax"))
        if not (0 <= x0 <= x1 <= width and 0 <= y0 <= y1 <= height):
            raise NSTDetError(f"{xml_path}: box of {name!r} (xmin {x0:g}, ymin {y0:g}, xmax {x1:g}, "
                              f"ymax {y1:g}) lies outside the {width:g}x{height:g} image")
        count += 1
    return count


def check_voc(dataset_cfg: dict, where: str, **options: bool) -> str:
    """Check an ``XMLDataset`` config (``VOCDataset``): list file, XML files, boxes, images.

    ``options``: those of :func:`check_voc_annotation`.
    """
    data_root = dataset_cfg.get("data_root") or ""
    if data_root:
        _require(data_root, "folder", where)
    ann_file = _join(data_root, dataset_cfg.get("ann_file", ""))
    sub_root = _join(data_root, (dataset_cfg.get("data_prefix") or {}).get("sub_data_root", ""))
    _require(sub_root, "folder", where)
    _require(ann_file, "file", where)
    img_subdir = dataset_cfg.get("img_subdir", "JPEGImages")
    ann_subdir = dataset_cfg.get("ann_subdir", "Annotations")
    classes = _classes(dataset_cfg)
    ids = [line.strip() for line in Path(ann_file).read_text().splitlines() if line.strip()]
    if not ids:
        raise NSTDetError(f"{ann_file} lists no images ({where})")
    files, objects = ListedFiles(), 0
    for i in progress(ids, len(ids), f"{ann_file}: {len(ids)} VOC annotations and images"):
        xml_path, img_path = osp.join(sub_root, ann_subdir, f"{i}.xml"), osp.join(sub_root, img_subdir, f"{i}.jpg")
        if img_path not in files:
            raise NSTDetError(f"image file {img_path} does not exist (listed by {xml_path})")
        objects += check_voc_annotation(xml_path, img_path, classes, **options, image_checked=True)
    return f"{ann_file}: {len(ids)} images, {objects} objects"


# ----------------------------------------------------------------------------- COCO
def _without_masks(node: dict) -> dict:
    node.pop("segmentation", None)  # polygons are most of a COCO file; dropped as soon as each is parsed
    return node


def load_coco_json(path: str) -> dict:
    """Read a COCO instances file, without the masks (``segmentation``); malformed JSON or missing
    sections raise an error naming it."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f, object_hook=_without_masks)
    except json.JSONDecodeError as exc:
        raise NSTDetError(f"{path}: malformed JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NSTDetError(f"{path}: cannot read ({exc})") from None
    if not isinstance(data, dict):
        raise NSTDetError(f"{path}: malformed COCO annotations, the top level is not an object")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise NSTDetError(f"{path}: malformed COCO annotations, no '{key}' list")
    return data


def check_coco(dataset_cfg: dict, where: str) -> str:
    """Check a ``CocoDataset`` config: JSON, ids, boxes inside their images, image files."""
    data_root = dataset_cfg.get("data_root") or ""
    if data_root:
        _require(data_root, "folder", where)
    ann_file = _join(data_root, dataset_cfg.get("ann_file", ""))
    _require(ann_file, "file", where)
    img_root = _join(data_root, (dataset_cfg.get("data_prefix") or {}).get("img", ""))
    _require(img_root, "folder", where)
    data = load_coco_json(ann_file)
    try:
        images = {img["id"]: img for img in data["images"]}
        categories = {cat["id"] for cat in data["categories"]}
        files = ListedFiles()
        for img in images.values():
            if osp.join(img_root, img["file_name"]) not in files:
                raise NSTDetError(f"image file {osp.join(img_root, img['file_name'])} does not exist "
                                  f"(image id {img['id']} in {ann_file})")
        annotations = data["annotations"]
        for ann in progress(annotations, len(annotations), f"{ann_file}: {len(images)} images, "
                                                            f"{len(annotations)} COCO annotations"):
            img = images.get(ann["image_id"])
            if img is None:
                raise NSTDetError(f"{ann_file}: annotation {ann['id']} refers to image id "
                                  f"{ann['image_id']}, which is not in 'images'")
            if ann["category_id"] not in categories:
                raise NSTDetError(f"{ann_file}: annotation {ann['id']} has category id "
                                  f"{ann['category_id']}, which is not in 'categories'")
            x, y, w, h = (float(v) for v in ann["bbox"])
            if (min(x, y) < -BOX_TOLERANCE or w < 0 or h < 0 or x + w > img["width"] + BOX_TOLERANCE
                    or y + h > img["height"] + BOX_TOLERANCE):
                raise NSTDetError(f"{ann_file}: box [x {x:g}, y {y:g}, w {w:g}, h {h:g}] of annotation "
                                  f"{ann['id']} lies outside its {img['width']}x{img['height']} image "
                                  f"{img['file_name']}")
    except (KeyError, TypeError, ValueError) as exc:
        raise NSTDetError(f"{ann_file}: malformed COCO annotations ({type(exc).__name__}: {exc})") from None
    return f"{ann_file}: {len(images)} images, {len(data['annotations'])} objects"


# ----------------------------------------------------------------------------- entry points
def _classes(dataset_cfg: dict) -> Sequence[str]:
    metainfo = dataset_cfg.get("metainfo") or {}
    if metainfo.get("classes"):
        return tuple(metainfo["classes"])
    return DATASETS.get(dataset_cfg["type"]).METAINFO["classes"]


def check_dataset(dataset_cfg: dict, where: str = "dataset", seen: Optional[set] = None,
                  options: Optional[dict] = None) -> list[str]:
    """Check every VOC/COCO dataset inside ``dataset_cfg``; returns one summary line per dataset.

    Datasets of other types are not checked; a dataset whose config is in ``seen`` is skipped
    (``val_dataloader`` and ``test_dataloader`` often share one). ``options``: the VOC options of
    :func:`check_voc_annotation`.
    """
    seen = set() if seen is None else seen
    summaries = []
    for leaf, leaf_where in _leaf_datasets(dataset_cfg, where):
        key = repr(sorted((k, repr(v)) for k, v in leaf.items() if k != "pipeline"))
        if key in seen:
            continue
        seen.add(key)
        cls = _registered(DATASETS, leaf)
        if isinstance(cls, type) and issubclass(cls, XMLDataset):
            summaries.append(check_voc(leaf, leaf_where, **(options or {})))
        elif isinstance(cls, type) and issubclass(cls, CocoDataset):
            summaries.append(check_coco(leaf, leaf_where))
            seen.add(("file", osp.abspath(_join(leaf.get("data_root") or "", leaf.get("ann_file", "")))))
    return summaries


def check_evaluator_files(evaluators, where: str, seen: Optional[set] = None) -> list[str]:
    """Check the annotation files evaluators read themselves (``CocoMetric(ann_file=...)``, not joined
    with any data root); returns one summary line per file. Files in ``seen`` (``("file", abspath)``,
    a dataset's annotation file checked already) are skipped."""
    seen = set() if seen is None else seen
    summaries = []
    many = isinstance(evaluators, (list, tuple))
    for index, evaluator in enumerate(evaluators if many else [evaluators]):
        ann_file = evaluator.get("ann_file") if isinstance(evaluator, dict) else None
        if not ann_file or ("file", osp.abspath(ann_file)) in seen:
            continue
        seen.add(("file", osp.abspath(ann_file)))
        at = f"{where}[{index}].ann_file" if many else f"{where}.ann_file"
        _require(ann_file, "file", at)
        cls = _registered(METRICS, evaluator)
        if isinstance(cls, type) and issubclass(cls, CocoMetric):
            data = load_coco_json(ann_file)
            summaries.append(f"{ann_file}: {len(data['images'])} images, {len(data['annotations'])} objects ({at})")
        else:
            summaries.append(f"{ann_file}: exists ({at})")
    return summaries


def _registered(registry, cfg: dict):
    kind = cfg.get("type")
    return registry.get(kind) if isinstance(kind, str) else kind


def check_datasets(cfg: Config, loaders: Sequence[str] = ("train_dataloader", "val_dataloader")) -> list[str]:
    """Check the datasets of the named dataloaders of ``cfg`` (absent or ``None`` ones are skipped),
    with the options of ``cfg.data_check`` (see :data:`DATA_CHECK_OPTIONS`), and the annotation files
    of their evaluators (:data:`EVALUATORS`: ``val_evaluator`` with ``val_dataloader``, ...)."""
    options = dict(cfg.get("data_check") or {})
    unknown = sorted(set(options) - set(DATA_CHECK_OPTIONS))
    if unknown:
        raise NSTDetError(f"data_check: unknown option(s) {', '.join(unknown)} "
                          f"(known: {', '.join(DATA_CHECK_OPTIONS)})")
    summaries: list[str] = []
    seen: set = set()
    for name in loaders:
        loader: Optional[dict] = cfg.get(name)
        if loader and loader.get("dataset"):
            summaries += check_dataset(loader["dataset"], f"{name}.dataset", seen, options)
    for name in loaders:
        for evaluator in EVALUATORS.get(name, ()):
            if cfg.get(name) and cfg.get(evaluator):
                summaries += check_evaluator_files(cfg.get(evaluator), evaluator, seen)
    return summaries
