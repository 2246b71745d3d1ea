"""Tensors, made afresh from validated arguments: torch's rebuild functions, interpreted.

Every function takes the already-interpreted arguments of one ``torch._utils._rebuild_*`` call
(storages as :class:`~nst_det.utils.reader.values.StorageRef`) and returns a tensor whose memory is
the archive storage's (which nothing in the pickle can reach) or a copy. Nothing of the file is
called; sizes and strides are checked against the storage before a view is made; Python attributes,
backward hooks and subclass types carried by the file are dropped.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Optional

import numpy as np
import torch

from nst_det.utils.reader.errors import Corrupt, Refused
from nst_det.utils.reader.names import LAYOUTS
from nst_det.utils.reader.values import (
    NameRef,
    Skipped,
    StorageRef,
    checked_bool,
    checked_dtype,
    checked_float,
    checked_int,
    checked_ints,
    checked_view,
)

Place = Callable[[torch.Tensor, Optional[str]], torch.Tensor]  # moves a tensor built on the CPU where it belongs


def _storage(value: Any) -> StorageRef:
    if not isinstance(value, StorageRef):
        raise Corrupt(f"a tensor's storage is a {type(value).__name__}, not a storage of the archive")
    return value


def _view(ref: StorageRef, dtype: torch.dtype, offset: Any, size: Any, stride: Any) -> torch.Tensor:
    offset, size, stride = checked_view(ref.storage.nbytes(), torch._utils._element_size(dtype), offset, size, stride)
    return torch.empty((0,), dtype=dtype, device=ref.storage.device).set_(ref.storage, offset, size, stride)


def _finish(tensor: torch.Tensor, requires_grad: Any, metadata: Any = None) -> torch.Tensor:
    if type(requires_grad) not in (bool, int) or requires_grad not in (0, 1):
        raise Corrupt(f"a tensor's requires_grad is {type(requires_grad).__name__}, not True/False")
    if requires_grad and (tensor.is_floating_point() or tensor.is_complex()):
        tensor.requires_grad_(True)
    if metadata:
        if not isinstance(metadata, dict) or not set(metadata) <= {"conj", "neg"} \
                or not all(type(v) is bool for v in metadata.values()):
            raise Corrupt("a tensor's metadata holds more than its conj/neg bits")
        if metadata.get("conj") and not tensor.is_complex():
            raise Corrupt("a real tensor is marked conjugated")
        torch._utils.set_tensor_metadata(tensor, metadata)
    return tensor


def _hooks(value: Any) -> None:
    if value is not None and not (isinstance(value, (dict, OrderedDict)) and not value):
        raise Refused("a tensor carries backward hooks (torch never saves hooks; only an attack would)")


def rebuild_tensor(storage, offset, size, stride) -> torch.Tensor:
    """``torch._utils._rebuild_tensor`` (typed storage)."""
    ref = _storage(storage)
    if ref.dtype is None:
        raise Corrupt("a typed tensor rebuild refers to an untyped storage")
    return _view(ref, ref.dtype, offset, size, stride)


def rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, backward_hooks=None,
                      metadata=None) -> torch.Tensor:
    """``torch._utils._rebuild_tensor_v2``."""
    _hooks(backward_hooks)
    return _finish(rebuild_tensor(storage, offset, size, stride), requires_grad, metadata)


def rebuild_tensor_v3(storage, offset, size, stride, requires_grad, backward_hooks, dtype,
                      metadata=None) -> torch.Tensor:
    """``torch._utils._rebuild_tensor_v3`` (an untyped storage and the dtype: uint16/32/64, float8, ...)."""
    _hooks(backward_hooks)
    tensor = _view(_storage(storage), checked_dtype(dtype, "a tensor's dtype"), offset, size, stride)
    return _finish(tensor, requires_grad, metadata)


def rebuild_parameter(data, requires_grad=True, backward_hooks=None, *state) -> Any:
    """``torch._utils._rebuild_parameter(_with_state)``: a fresh ``Parameter``; Python attributes dropped."""
    if isinstance(data, Skipped):
        return data
    if not isinstance(data, torch.Tensor) or isinstance(data, torch.nn.Parameter):
        raise Corrupt(f"a parameter's data is a {type(data).__name__}, not a tensor")
    _hooks(backward_hooks)
    grad = checked_bool(requires_grad, "a parameter's requires_grad") and (data.is_floating_point()
                                                                            or data.is_complex())
    return torch.nn.Parameter(data, requires_grad=grad)


_QUANTIZED_STORAGE = {torch.qint8: torch.int8, torch.quint8: torch.uint8, torch.qint32: torch.int32}


def rebuild_qtensor(storage, offset, size, stride, quantizer_params, requires_grad=False,
                    backward_hooks=None) -> torch.Tensor:
    """``torch._utils._rebuild_qtensor``: per-tensor or per-channel affine int8/uint8/int32."""
    ref = _storage(storage)
    if ref.dtype not in _QUANTIZED_STORAGE:
        raise Refused(f"a quantized tensor of storage type {ref.dtype} is not supported")
    _hooks(backward_hooks)
    values = _view(ref, _QUANTIZED_STORAGE[ref.dtype], offset, size, stride)
    if not isinstance(quantizer_params, tuple) or not quantizer_params:
        raise Corrupt("a quantized tensor's parameters are malformed")
    scheme = quantizer_params[0]
    if scheme == torch.per_tensor_affine and len(quantizer_params) == 3:
        scale = checked_float(quantizer_params[1], "a quantized tensor's scale")
        zero = checked_int(quantizer_params[2], "a quantized tensor's zero point", -(1 << 31), 1 << 31)
        return torch._make_per_tensor_quantized_tensor(values, scale, zero)
    if scheme in (torch.per_channel_affine, torch.per_channel_affine_float_qparams) and len(quantizer_params) == 4:
        _, scales, zeros, axis = quantizer_params
        axis = checked_int(axis, "a quantized tensor's axis", 0, max(values.dim() - 1, 0))
        channels = values.shape[axis] if values.dim() else 0
        scales, zeros = _channel_params(scales, torch.float64), _channel_params(zeros, torch.int64)
        if scales.numel() != channels or zeros.numel() != channels:
            raise Corrupt(f"a quantized tensor has {scales.numel()} scales for {channels} channels")
        return torch._make_per_channel_quantized_tensor(values, scales, zeros, axis)
    raise Refused(f"a quantized tensor with scheme {scheme!r} is not supported")


def _channel_params(value: Any, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(value, torch.Tensor) and value.dim() == 1:
        return value.to(dtype)
    if isinstance(value, list) and all(type(v) in (int, float) for v in value):
        return torch.tensor(value, dtype=dtype)
    raise Corrupt("a quantized tensor's per-channel parameters are malformed")


_COMPRESSED = (torch.sparse_csr, torch.sparse_csc, torch.sparse_bsr, torch.sparse_bsc)


def rebuild_sparse_tensor(layout, data) -> torch.Tensor:
    """``torch._utils._rebuild_sparse_tensor``, with torch's invariant checks on (indices in bounds)."""
    def tensors(parts: tuple) -> bool:
        return all(isinstance(t, torch.Tensor) and t.layout == torch.strided for t in parts)

    if not isinstance(data, tuple):
        raise Corrupt("a sparse tensor's parts are malformed")
    try:
        if layout == torch.sparse_coo and len(data) in (3, 4) and tensors(data[:2]):
            shape = checked_ints(data[2], "a sparse tensor's size")
            return torch.sparse_coo_tensor(data[0], data[1], shape, check_invariants=True)
        if layout in _COMPRESSED and len(data) == 4 and tensors(data[:3]):
            shape = checked_ints(data[3], "a sparse tensor's size")
            return torch.sparse_compressed_tensor(data[0], data[1], data[2], shape, layout=layout,
                                                  check_invariants=True)
    except RuntimeError as exc:
        raise Corrupt(f"a sparse tensor is inconsistent ({str(exc).splitlines()[0]})") from None
    raise Refused(f"a sparse tensor of layout {layout!r} with these parts is not supported")


def rebuild_from_numpy(place: Place, data, dtype, device, requires_grad) -> torch.Tensor:
    """``torch._utils._rebuild_device_tensor_from_numpy`` (XLA-era files): a copy of a numeric array."""
    if not isinstance(data, np.ndarray):
        raise Corrupt("a tensor's numpy data is not a numeric array")
    tensor = torch.tensor(data).to(checked_dtype(dtype, "a tensor's dtype"))
    return _finish(place(tensor, _location(device)), requires_grad)


def rebuild_from_cpu_tensor(place: Place, data, dtype, device, requires_grad) -> torch.Tensor:
    """``torch._utils._rebuild_device_tensor_from_cpu_tensor``: a copy of the tensor."""
    if not isinstance(data, torch.Tensor):
        raise Corrupt("a device tensor's data is not a tensor")
    tensor = data.detach().to(checked_dtype(dtype, "a tensor's dtype"), copy=True)
    return _finish(place(tensor, _location(device)), requires_grad)


def _location(device: Any) -> Optional[str]:
    return str(device) if isinstance(device, (str, torch.device)) else None


def rebuild_meta_tensor(dtype, size, stride, requires_grad=False) -> torch.Tensor:
    """``torch._utils._rebuild_meta_tensor_no_storage``: shape only, no memory."""
    checked_view(1 << 62, 1, 0, size, stride)
    return torch.empty_strided(tuple(size), tuple(stride), dtype=checked_dtype(dtype, "a tensor's dtype"),
                               device="meta")


def rebuild_from_type(rebuilds: dict, func, new_type, args, state=None) -> Any:
    """``torch._tensor._rebuild_from_type(_v2)``: the plain tensor of a tensor subclass or a tensor with
    attributes (``Parameter`` kept as ``Parameter``); the subclass and attributes are dropped."""
    if not isinstance(func, NameRef) or func.kind not in rebuilds or not isinstance(args, tuple):
        raise Corrupt("a tensor-type rebuild names no tensor rebuild")
    tensor = rebuilds[func.kind](*args)
    if isinstance(new_type, NameRef) and new_type.kind == "value:parameter_class" \
            and isinstance(tensor, torch.Tensor) and not isinstance(tensor, torch.nn.Parameter):
        return torch.nn.Parameter(tensor, requires_grad=tensor.requires_grad)
    return tensor


def layout(name) -> torch.layout:
    """``torch.serialization._get_layout``."""
    if name not in LAYOUTS:
        raise Corrupt(f"unknown tensor layout {name!r}")
    return LAYOUTS[name]


def size(dims=()) -> torch.Size:
    """``torch.Size``."""
    return torch.Size(checked_ints(dims, "a torch.Size"))


_DEVICE_TYPES = ("cpu", "cuda", "mps", "meta", "xpu", "hpu", "xla", "mtia", "privateuseone")


def device(kind, index=None) -> torch.device:
    """``torch.device``: only the device types torch has, by name."""
    if not isinstance(kind, str) or kind.split(":")[0] not in _DEVICE_TYPES or len(kind) > 32:
        raise Corrupt(f"unknown device {kind!r}")
    try:
        return torch.device(kind) if index is None else torch.device(kind, checked_int(index, "a device index",
                                                                                      0, 1 << 16))
    except RuntimeError:
        raise Corrupt(f"malformed device {kind!r}") from None
