"""Image loading that refuses truncated and undecodable files with one line naming the file.

mmcv's ``LoadImageFromFile`` decodes with OpenCV, which turns a truncated JPEG into an image whose
lower part is grey (a warning on stderr, nothing else) and fails on a non-image with an
``AssertionError`` deep inside a DataLoader worker. :class:`CheckedLoadImageFromFile` checks the
bytes first and raises :class:`~nst_det.utils.errors.NSTDetError` naming the file; with
``ignore_empty=True`` it logs the file and returns ``None`` instead, which makes mmdet's training
dataset draw another image.
"""
from __future__ import annotations

import logging
from typing import Any, Optional

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmengine.logging import print_log

from nst_det.registry import TRANSFORMS
from nst_det.utils.errors import NSTDetError

_JPEG, _PNG = b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"


def truncation_problem(data: bytes) -> Optional[str]:
    """Why ``data`` is a truncated JPEG/PNG, or ``None`` (other formats are left to the decoder).

    A JPEG must have an end-of-image marker after the start of its last scan (data after that
    marker, as some cameras append, is allowed); a PNG must end with its ``IEND`` chunk.
    """
    if not data:
        return "the file is empty"
    if data.startswith(_JPEG):
        last_scan = data.rfind(b"\xff\xda")
        if last_scan < 0 or data.find(b"\xff\xd9", last_scan) < 0:
            return "JPEG data ends before its end-of-image marker (truncated file?)"
    elif data.startswith(_PNG) and b"IEND" not in data[-12:]:
        return "PNG data ends before its IEND chunk (truncated file?)"
    return None


@TRANSFORMS.register_module()
class CheckedLoadImageFromFile(LoadImageFromFile):
    """``LoadImageFromFile`` (same arguments) that names truncated, undecodable and missing images.

    Raises:
        NSTDetError: ``cannot decode image <path>: <why>`` unless ``ignore_empty=True``.
    """

    def transform(self, results: dict) -> Optional[dict]:
        filename = results["img_path"]
        try:
            if self.file_client_args is not None:  # mmcv's deprecated spelling of backend_args
                data = fileio.FileClient.infer_client(self.file_client_args, filename).get(filename)
            else:
                data = fileio.get(filename, backend_args=self.backend_args)
        except OSError as exc:
            return self._refuse(filename, exc.strerror or str(exc))
        problem = truncation_problem(data)
        if problem:
            return self._refuse(filename, problem)
        try:
            image = mmcv.imfrombytes(data, flag=self.color_type, backend=self.imdecode_backend)
        except Exception as exc:  # decoders raise anything from cv2.error to OSError
            return self._refuse(filename, f"{type(exc).__name__}: {exc}")
        if image is None:
            return self._refuse(filename, f"not an image {self.imdecode_backend} can decode")
        if self.to_float32:
            image = image.astype(np.float32)
        results["img"] = image
        results["img_shape"] = image.shape[:2]
        results["ori_shape"] = image.shape[:2]
        return results

    def _refuse(self, filename: str, why: str) -> None:
        message = f"cannot decode image {filename}: {why}"
        if not self.ignore_empty:
            raise NSTDetError(message)
        print_log(f"skipping it (ignore_empty=True): {message}", logger="current", level=logging.WARNING)
        return None


def use_checked_image_loading(node: Any) -> Any:
    """Replace every ``LoadImageFromFile`` step inside ``node`` (a config, dicts, lists) in place."""
    if isinstance(node, dict):
        if node.get("type") in ("LoadImageFromFile", "mmcv.LoadImageFromFile", LoadImageFromFile):
            node["type"] = "CheckedLoadImageFromFile"
        for value in node.values():
            use_checked_image_loading(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            use_checked_image_loading(value)
    return node
