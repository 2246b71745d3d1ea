"""numpy dtypes, arrays and scalars, made afresh from validated values (numpy's pickle forms, interpreted).

Only numeric and boolean dtypes (kinds ``b i u f c``) are made; any other dtype (object, structured,
strings, datetimes) gives a :class:`~nst_det.utils.reader.values.Skipped` marker. An array is a copy
of raw bytes the pickle holds, whose length must equal its shape times its item size: no allocation is
larger than the file, and ``dtype.__setstate__``/``ndarray.__setstate__`` are never called.
"""
from __future__ import annotations

import math
import re
from typing import Any, Union

import numpy as np

from nst_det.utils.reader.errors import Corrupt
from nst_det.utils.reader.values import NameRef, Skipped, checked_ints

_NUMERIC_CODE = re.compile(r"^(b1|\?|[iu][1248]|f[248]|c(8|16)|f16|c32)$")
_BYTE_ORDERS = {"<", ">", "|", "="}


def dtype(code: Any, align: Any = False, copy: Any = True, state: Any = None) -> Union[np.dtype, Skipped]:
    """``numpy.dtype(code, align, copy)`` followed by ``BUILD state``: only the byte order is taken from the state."""
    if not isinstance(code, str) or not _NUMERIC_CODE.match(code):
        return Skipped(f"numpy.dtype({code!r})" if isinstance(code, str) and len(code) < 40 else "numpy.dtype")
    result = np.dtype(code)
    if state is not None:
        if not isinstance(state, tuple) or len(state) < 2 or state[1] not in _BYTE_ORDERS:
            raise Corrupt("a numpy dtype's state is malformed")
        if state[1] in "<>" and result.itemsize > 1:
            result = result.newbyteorder(state[1])
    return result


def _numeric(value: Any) -> bool:
    return isinstance(value, np.dtype) and value.kind in "biufc" and not value.hasobject and value.fields is None


def _array(raw: Any, shape: Any, dtype_: Any, fortran: bool, native: bool) -> Union[np.ndarray, Skipped]:
    if not _numeric(dtype_):
        return Skipped(f"numpy array of dtype {dtype_}" if isinstance(dtype_, np.dtype) else "numpy array")
    shape = checked_ints(shape, "a numpy array's shape")
    if not isinstance(raw, (bytes, bytearray)):
        raise Corrupt("a numeric numpy array's data is not bytes")
    expected = math.prod(shape) * dtype_.itemsize
    if len(raw) != expected:
        raise Corrupt(f"a numpy array of shape {shape} and dtype {dtype_} has {len(raw)} bytes, not {expected}")
    array = np.frombuffer(bytes(raw), dtype=dtype_).reshape(shape, order="F" if fortran else "C")
    return array.astype(dtype_.newbyteorder("=") if native else dtype_, order="K")  # a copy, as numpy loads it


def reconstruct(subtype: Any, shape: Any, typecode: Any, state: Any = None) -> Union[np.ndarray, Skipped]:
    """``numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')`` followed by ``BUILD state``."""
    if not (isinstance(subtype, NameRef) and subtype.kind == "value:ndarray_class"):
        return Skipped("numpy array subclass")
    if not isinstance(state, tuple) or len(state) not in (4, 5):
        raise Corrupt("a numpy array's state is malformed")
    shape_, dtype_, fortran, raw = state[-4:]
    if type(fortran) is not bool and fortran not in (0, 1):
        raise Corrupt("a numpy array's order flag is malformed")
    return _array(raw, shape_, dtype_, bool(fortran), native=True)  # numpy's __setstate__ gives native order


def frombuffer(buffer: Any, dtype_: Any, shape: Any, order: Any) -> Union[np.ndarray, Skipped]:
    """``numpy.core.numeric._frombuffer`` (protocol 5 arrays with in-band buffers)."""
    if order not in ("C", "F"):
        raise Corrupt("a numpy array's order is malformed")
    return _array(buffer, shape, dtype_, order == "F", native=False)


def scalar(dtype_: Any, data: Any = None) -> Union[np.generic, Skipped]:
    """``numpy.core.multiarray.scalar(dtype, bytes)``: a numeric numpy scalar."""
    if not _numeric(dtype_):
        return Skipped(f"numpy scalar of dtype {dtype_}" if isinstance(dtype_, np.dtype) else "numpy scalar")
    if not isinstance(data, (bytes, bytearray)) or len(data) != dtype_.itemsize:
        raise Corrupt(f"a numpy {dtype_} scalar's data is not {dtype_.itemsize} bytes")
    return np.frombuffer(bytes(data), dtype=dtype_, count=1)[0]
