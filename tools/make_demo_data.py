"""Write the deterministic demo data (shapes on textured backgrounds) in ImageNet, VOC and COCO layouts.

    python tools/make_demo_data.py --out demo_data
    python tools/make_demo_data.py --out demo_data --layouts voc --num-trainval 40 --num-test 10

Writes, under --out:
    imagenet/{train,val}/<class>/<class>_00000.JPEG        (--layouts imagenet)
    VOCdevkit/VOC2007/{Annotations,JPEGImages,ImageSets}   (--layouts voc)
    coco/{annotations/instances_{train,val}.json,train,val} (--layouts coco)
The same arguments give byte-identical files on every run.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nst_det.data import CLASSES, make_classification_dataset, make_detection_dataset
from nst_det.utils.errors import NSTDetError

LAYOUTS = ("imagenet", "voc", "coco")


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--layouts", nargs="+", choices=LAYOUTS, default=list(LAYOUTS),
                        help="which layouts to write")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed")
    parser.add_argument("--train-per-class", type=int, default=200,
                        help="imagenet: training images per class")
    parser.add_argument("--val-per-class", type=int, default=40,
                        help="imagenet: validation images per class")
    parser.add_argument("--image-size", type=int, default=72,
                        help="imagenet: side of the square images, pixels")
    parser.add_argument("--num-trainval", type=int, default=160,
                        help="voc/coco: images in VOC trainval (= COCO train)")
    parser.add_argument("--num-test", type=int, default=40,
                        help="voc/coco: images in VOC test (= COCO val)")
    parser.add_argument("--det-size", type=int, nargs=2, default=(240, 320),
                        metavar=("HEIGHT", "WIDTH"), help="voc/coco: image height and width")
    return parser


def main(args: argparse.Namespace) -> None:
    print(f"classes: {', '.join(CLASSES)}")

    if "imagenet" in args.layouts:
        root = make_classification_dataset(
            args.out / "imagenet", train_per_class=args.train_per_class,
            val_per_class=args.val_per_class, image_size=args.image_size, seed=args.seed)
        for split, per_class in (("train", args.train_per_class), ("val", args.val_per_class)):
            print(f"imagenet: {root / split}  {per_class * len(CLASSES)} images "
                  f"({per_class} per class), {args.image_size}x{args.image_size}")

    det_layouts = [layout for layout in args.layouts if layout != "imagenet"]
    if det_layouts:
        paths = make_detection_dataset(
            args.out, num_trainval=args.num_trainval, num_test=args.num_test,
            image_size=args.det_size, seed=args.seed, layouts=det_layouts)
        height, width = args.det_size
        if "voc" in paths:
            print(f"voc:      {paths['voc'] / 'VOC2007'}  trainval {args.num_trainval}, "
                  f"test {args.num_test} images, {height}x{width} (HxW)")
        if "coco" in paths:
            for split, n in (("train", args.num_trainval), ("val", args.num_test)):
                print(f"coco:     {paths['coco'] / 'annotations' / f'instances_{split}.json'}  "
                      f"{n} images in {paths['coco'] / split}")


if __name__ == "__main__":
    try:
        main(get_args_parser().parse_args())
    except (NSTDetError, OSError) as err:  # bad arguments, or an unwritable --out
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
