"""See what NST transfers: the teacher's and the student's most selective channels on one image.

    python tools/visualize_selectivity.py cat.jpg \\
        --teacher work_dirs/teacher_r50/classifier_resnet50.pth --teacher-arch resnet50 \\
        --student work_dirs/nst_r50_r18/backbone_resnet18.pth --student-arch resnet18 \\
        --tap layer4 --top 4 --out selectivity.png

Writes one PNG: the input crop; for the teacher and the student, the mean selectivity map (mean of
the L2-normalised channel maps, what NST compares) and the ``--top`` channels with the highest
peak activation (``--rank-by mean``: mean activation), each upsampled over the crop as a heatmap;
the per-image MMD² (polynomial kernel, d=2, as in the paper) in the title. See
:mod:`nst_det.selectivity`.

Checkpoints: any format ``nst_det.utils.weights.read_classifier_state_dict`` reads (torchvision
state dict, ``classifier_<arch>.pth``, a backbone export without ``fc``, mmpretrain, our training
checkpoints). ``--num-classes`` defaults to the checkpoint's ``fc.weight`` rows.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

from nst_det.engine.cli import run_cli
from nst_det.selectivity import RANK_BY, load_classifier, load_image, selectivity_figure
from nst_det.utils.errors import NSTDetError


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("image", help="an image file")
    parser.add_argument("--teacher", required=True, metavar="CKPT", help="teacher checkpoint")
    parser.add_argument("--teacher-arch", required=True, help="e.g. resnet50")
    parser.add_argument("--student", required=True, metavar="CKPT", help="student checkpoint")
    parser.add_argument("--student-arch", required=True, help="e.g. resnet18")
    parser.add_argument("--tap", default="layer4",
                        help="student tap: a module name, ':input' for its input (default: layer4)")
    parser.add_argument("--teacher-tap", help="teacher tap (default: the same as --tap)")
    parser.add_argument("--num-classes", type=int,
                        help="classifier size of both checkpoints (default: read from their fc.weight)")
    parser.add_argument("--crop", type=int, default=224, help="centre-crop size (default: 224)")
    parser.add_argument("--resize", type=int, default=256, help="short side before the crop (default: 256)")
    parser.add_argument("--top", type=int, default=4, help="channels shown per network (default: 4)")
    parser.add_argument("--rank-by", choices=RANK_BY, default="peak",
                        help="rank channels by peak (max over space) or mean activation (default: peak)")
    parser.add_argument("--out", default="selectivity.png", help="output PNG (default: selectivity.png)")
    args = parser.parse_args(argv)

    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise NSTDetError(f"--out {out}: the figure is written as PNG; give a path ending in .png")
    image = load_image(args.image)
    teacher = load_classifier(args.teacher, args.teacher_arch, args.num_classes, what="teacher checkpoint")
    student = load_classifier(args.student, args.student_arch, args.num_classes, what="student checkpoint")
    teacher_tap = args.teacher_tap or args.tap
    fig = selectivity_figure(image, teacher, student, teacher_tap, args.tap, top=args.top, rank_by=args.rank_by,
                             crop=args.crop, resize=args.resize,
                             names=(f"teacher {args.teacher_arch}", f"student {args.student_arch}"))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=110)
    except OSError as exc:
        raise NSTDetError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"MMD² (poly d=2) = {fig.comparison.mmd2:.6g}; figure written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
