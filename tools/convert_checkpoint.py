"""Rewrite a checkpoint as plain data that ``torch.load(weights_only=True)`` reads.

    python tools/convert_checkpoint.py faster_rcnn_r50_fpn_1x_voc0712.pth teacher_plain.pth
    python tools/convert_checkpoint.py work_dirs/kd/epoch_12.pth student.pth --student-only

The input is read as data (nothing in it is executed): checkpoints written by stock mmengine's
Runner, mmdet 2.x / mmcv 1.x model-zoo files, mmpretrain classifiers, DDP state dicts. Objects that
are not data (mmengine's message-hub history) are named and left out, numpy values become numbers
and tensors, and the output is written atomically, so stock mmdet/mmengine tools on torch >= 2.6,
which load with ``weights_only=True``, read it too. ``--student-only`` keeps a distiller's student
(``teacher.*``/``distiller.*`` keys removed, a ``student.``/``architecture.`` prefix stripped).
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional

from nst_det.engine.cli import run_cli
from nst_det.engine.plain_data import convert_checkpoint


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="any checkpoint the nst_det tools accept")
    parser.add_argument("output", help="where to write the plain-data checkpoint")
    parser.add_argument("--student-only", action="store_true",
                        help="keep only a distiller's student weights and meta (drop teacher and training state)")
    args = parser.parse_args(argv)
    for note in convert_checkpoint(args.input, args.output, student_only=args.student_only):
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
