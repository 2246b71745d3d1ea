"""A checkpoint's values as comparable plain data, the same way for any loader (imports torch and numpy only).

:func:`canonical` walks a loaded checkpoint (dicts, lists, tuples; other objects are not entered) and
maps each key path to a description of the value there: a tensor's dtype, shape, layout, quantization
parameters and raw bytes; a numpy array's or scalar's dtype and bytes; a plain value itself. The
differential test computes it for ``torch.load(weights_only=False)`` in an isolated interpreter and for
the reader, and compares.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

PLAIN = (type(None), bool, int, float, complex, str, bytes)


def _bits(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.detach().contiguous().reshape(-1).view(torch.uint8).clone()


def describe_tensor(tensor: torch.Tensor) -> dict:
    out = {"kind": "tensor", "dtype": str(tensor.dtype), "shape": list(tensor.shape), "layout": str(tensor.layout),
           "parameter": isinstance(tensor, torch.nn.Parameter), "device": tensor.device.type}
    if tensor.device.type == "meta":
        return out
    if tensor.is_quantized:
        scheme = tensor.qscheme()
        out["qscheme"] = str(scheme)
        if scheme == torch.per_tensor_affine:
            out["qparams"] = [tensor.q_scale(), tensor.q_zero_point()]
        else:
            out["qparams"] = [tensor.q_per_channel_scales().tolist(), tensor.q_per_channel_zero_points().tolist(),
                              tensor.q_per_channel_axis()]
        out["bits"] = _bits(tensor.int_repr())
    elif tensor.layout != torch.strided:
        out["bits"] = _bits(tensor.to_dense())
    else:
        out["bits"] = _bits(tensor.resolve_conj().resolve_neg())
    return out


def describe(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return describe_tensor(value)
    if isinstance(value, np.ndarray):
        return {"kind": "ndarray", "dtype": value.dtype.newbyteorder("=").str, "shape": list(value.shape),
                "bits": torch.from_numpy(np.ascontiguousarray(value).view(np.uint8).reshape(-1).copy())}
    if isinstance(value, np.generic):
        return {"kind": "numpy scalar", "dtype": value.dtype.str, "value": value.item()}
    if isinstance(value, np.dtype):
        return {"kind": "numpy dtype", "dtype": value.str}
    if isinstance(value, (torch.dtype, torch.device, torch.layout)):
        return {"kind": type(value).__name__, "value": str(value)}
    if isinstance(value, PLAIN):
        return {"kind": "plain", "value": value}
    return None  # an object the walk does not enter


def canonical(obj: Any, path: str = "") -> dict[str, Any]:
    """``{key path: description}`` of every value in ``obj`` (dict/list/tuple containers are entered)."""
    out: dict[str, Any] = {}
    stack = [(obj, path)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            stack.extend((v, f"{where}/{k!r}") for k, v in value.items())
        elif isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(value))
        elif isinstance(value, torch.Size):
            out[where] = {"kind": "size", "value": list(value)}
        else:
            described = describe(value)
            if described is not None:
                out[where] = described
    return out


def shared_storages(obj: Any) -> list[list[str]]:
    """Key paths of dense tensors grouped by the storage they share (groups of two or more), sorted."""
    groups: dict[int, list[str]] = {}
    stack = [(obj, "")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            stack.extend((v, f"{where}/{k!r}") for k, v in value.items())
        elif isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(value))
        elif isinstance(value, torch.Tensor) and value.layout == torch.strided and not value.is_quantized \
                and value.device.type != "meta" and value.numel():
            groups.setdefault(value.untyped_storage().data_ptr(), []).append(where)
    return sorted(sorted(paths) for paths in groups.values() if len(paths) > 1)
