"""Export the student backbone of a ``pretrain_backbone.py`` checkpoint for MMDetection.

    python tools/export_backbone.py work_dirs/nst_r101_r18/epoch_100.pth backbone_r18_nst.pth

Writes a plain tensor state dict in the key layout of the student's mmdet backbone (``ResNet(depth)`` or
``MobileNetV2``; nst_det/pretrain/students.py), without the classifier, and a JSON sidecar, then checks the
keys against that backbone: any missing or unexpected key is an error.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional

from nst_det.engine.cli import run_cli
from nst_det.pretrain.export import backbone_from_checkpoint, export_backbone
from nst_det.pretrain.students import check_against_mmdet_backbone, student_spec
from nst_det.utils.errors import NSTDetError


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="checkpoint written by tools/pretrain_backbone.py")
    parser.add_argument("out", help="output .pth (a .json sidecar is written beside it)")
    parser.add_argument("--arch", help="student architecture if the checkpoint does not record it "
                                       "(resnet18, resnet34, resnet50, mobilenet_v2, ...)")
    args = parser.parse_args(argv)

    backbone, info = backbone_from_checkpoint(args.checkpoint, args.arch)
    arch = info["arch"]
    missing, unexpected = check_against_mmdet_backbone(backbone, arch)
    if missing or unexpected:
        raise NSTDetError(f"{args.checkpoint}: the student does not match mmdet's {student_spec(arch).mmdet} "
                          f"(missing {missing[:4]}, unexpected {unexpected[:4]})")
    out = export_backbone(backbone, args.out, info)
    print(f"wrote {out} ({len(backbone)} tensors, {arch}) and {out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
