"""A restricted pickle module for ``torch.load``: data comes back, code never runs.

``torch.load(weights_only=True)`` refuses any checkpoint that pickles an object it does not know,
so it refuses what stock tools write: mmengine's ``Runner`` pickles its message hub
(``HistoryBuffer`` objects and bound methods through ``builtins.getattr``), mmdet 2.x / mmcv 1.x
model-zoo files and mmpretrain classifiers may carry numpy values. This module is passed to
``torch.load(path, pickle_module=safe_unpickle)``, which keeps torch's own storage handling (zip and
legacy formats, ``map_location``) and routes every pickle opcode through :class:`Unpickler`:

* Globals resolve from an explicit allow-list (:data:`ALLOWED_GLOBALS`): tensor and parameter
  rebuilds (backward hooks and Python attributes dropped), dtypes, ``torch.Size``/``device``,
  containers, numpy arrays/scalars/dtypes. Nothing is imported by name.
* Every other global becomes a :class:`SkippedGlobal` marker; calling or instantiating it yields a
  :class:`SkippedObject`. Neither is callable, and their state is discarded, so a skipped object
  can never do anything; :func:`find_skipped` lists where they ended up.
* Globals that no checkpoint needs and an attack would (``os``, ``subprocess``, ``eval``,
  ``torch.load`` of an embedded payload, ...; :func:`is_hostile`) stop the load with
  :class:`HostileCheckpointError`, so a malicious file is reported as such.
* Opcodes that call (``REDUCE``, ``NEWOBJ``, ``INST``, ``OBJ``) or mutate (``BUILD``, ``APPENDS``,
  ``SETITEMS``, ``ADDITEMS``) act only on allow-listed callables and plain containers; anything else
  is an ``UnpicklingError``.

Usage (see :func:`nst_det.utils.checkpoint.read_checkpoint`, which tries the weights-only loader
first)::

    checkpoint = torch.load(path, map_location="cpu", pickle_module=safe_unpickle)
    skipped = find_skipped(checkpoint)   # [(key path, qualified name), ...]
"""
from __future__ import annotations

import _compat_pickle
import collections
import io
import pickle
from typing import Any, Iterator

import numpy as np
import torch

UnpicklingError = pickle.UnpicklingError


class HostileCheckpointError(pickle.UnpicklingError):
    """The pickle names a global that can only serve to run code (``os.system``, ``eval``, ...)."""

    def __init__(self, qualname: str) -> None:
        super().__init__(qualname)
        self.qualname = qualname


class SkippedGlobal:
    """Stands for a global the allow-list does not have. Not callable; it is never resolved."""

    __slots__ = ("qualname",)

    def __init__(self, qualname: str) -> None:
        self.qualname = qualname

    def __repr__(self) -> str:
        return f"<skipped global {self.qualname}>"


class SkippedObject:
    """Stands for an object built from a :class:`SkippedGlobal`; its arguments and state are dropped."""

    __slots__ = ("qualname",)

    def __init__(self, qualname: str) -> None:
        self.qualname = qualname

    def __repr__(self) -> str:
        return f"<skipped {self.qualname} object>"


# ----------------------------------------------------------------------------- hostile globals
# (package roots: every submodule counts too)
_HOSTILE_MODULES = frozenset({
    "os", "posix", "nt", "subprocess", "_posixsubprocess", "sys", "shutil", "socket", "ctypes", "pty",
    "importlib", "runpy", "code", "codeop", "pickle", "_pickle", "marshal", "dill", "cloudpickle",
    "multiprocessing", "signal", "webbrowser", "pdb", "bdb", "timeit", "zipimport", "pkgutil", "shelve",
    "asyncio", "torch.serialization", "torch.hub", "torch.jit", "torch.package", "torch.utils.cpp_extension",
})
_HOSTILE_BUILTINS = frozenset({"eval", "exec", "compile", "open", "__import__", "input", "breakpoint", "exit",
                               "quit", "globals", "locals", "vars", "setattr", "delattr", "__build_class__"})
_HOSTILE_NAMES = frozenset({("io", "open"), ("_io", "open"), ("codecs", "open"), ("torch", "load"), ("torch", "save"),
                            ("torch.storage", "_load_from_bytes"), ("numpy", "load"), ("numpy", "loads")})


def is_hostile(module: str, name: str) -> bool:
    """Whether ``module.name`` is something only an attack would pickle into a checkpoint.

    Only a diagnosis: a global outside the allow-list can do nothing either way (it is skipped).
    """
    in_hostile_package = any(module == m or module.startswith(m + ".") for m in _HOSTILE_MODULES)
    return (in_hostile_package or (module == "builtins" and name in _HOSTILE_BUILTINS)
            or (module, name) in _HOSTILE_NAMES)


# ----------------------------------------------------------------------------- allowed globals
_FLOAT_META = frozenset({"conj", "neg"})


def _tensor_metadata(metadata: Any) -> Any:
    """Only the conj/neg bits torch itself pickles; anything else is dropped."""
    if isinstance(metadata, dict) and all(k in _FLOAT_META and isinstance(v, bool) for k, v in metadata.items()):
        return metadata
    return None


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None) -> torch.Tensor:
    # backward hooks are never serialized by torch; a file that carries some is not trusted with them
    return torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, bool(requires_grad),
                                           collections.OrderedDict(), _tensor_metadata(metadata))


def _rebuild_tensor(storage, storage_offset, size, stride) -> torch.Tensor:
    return torch._utils._rebuild_tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=True, backward_hooks=None, *_state) -> torch.nn.Parameter:
    if not isinstance(data, torch.Tensor):
        raise UnpicklingError(f"a parameter's data is {type(data).__name__}, not a tensor")
    return torch.nn.Parameter(data, bool(requires_grad))


def _rebuild_device_tensor_from_numpy(data, dtype, device, requires_grad) -> torch.Tensor:
    if not isinstance(data, np.ndarray) or data.dtype == object:
        raise UnpicklingError("a device tensor's data is not a numeric numpy array")
    return torch._utils._rebuild_device_tensor_from_numpy(data, dtype, device, bool(requires_grad))


def _rebuild_from_type_v2(func, new_type, args, state) -> torch.Tensor:
    # a tensor subclass or a tensor with Python attributes: keep the plain tensor only
    if func not in _TENSOR_REBUILDS:
        raise UnpicklingError(f"a tensor subclass is rebuilt with {func!r}, not a tensor rebuild")
    return func(*args)


def _codecs_encode(text, encoding="utf-8") -> bytes:
    # protocol-2 pickles of bytes (numpy buffers) go through _codecs.encode(str, 'latin1')
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise UnpicklingError("_codecs.encode is allowed for str -> latin1/utf-8 bytes only")
    return text.encode(encoding)


def _ndarray_reconstruct(subtype, shape, dtype) -> np.ndarray:
    if subtype is not np.ndarray:
        raise UnpicklingError(f"numpy arrays of type {subtype!r} are not allowed")
    return np.ndarray.__new__(np.ndarray, shape, dtype)


def _numpy_scalar(dtype, data=None) -> Any:
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise UnpicklingError("numpy scalars of object dtype are not allowed")
    return _NP_SCALAR(dtype, data)


def _defaultdict(default_factory=None, *args) -> dict:
    return dict(*args)  # the factory is not data: a plain dict holds the same entries


_NP_MULTIARRAY = np._core.multiarray if hasattr(np, "_core") else np.core.multiarray
_NP_SCALAR = _NP_MULTIARRAY.scalar
_TENSOR_REBUILDS = (_rebuild_tensor_v2, _rebuild_tensor, _rebuild_parameter, _rebuild_device_tensor_from_numpy)

ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._utils", "_rebuild_device_tensor_from_numpy"): _rebuild_device_tensor_from_numpy,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
    ("torch", "Size"): torch.Size,
    ("torch", "device"): torch.device,
    ("torch.serialization", "_get_layout"): torch.serialization._get_layout,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("collections", "defaultdict"): _defaultdict,
    ("collections", "Counter"): collections.Counter,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "slice"): slice,
    ("builtins", "complex"): complex,
    ("builtins", "bytearray"): bytearray,
    ("_codecs", "encode"): _codecs_encode,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
for _module in ("numpy.core.multiarray", "numpy._core.multiarray"):
    ALLOWED_GLOBALS[(_module, "_reconstruct")] = _ndarray_reconstruct
    ALLOWED_GLOBALS[(_module, "scalar")] = _numpy_scalar
for _dtype in {t for t in torch.__dict__.values() if isinstance(t, torch.dtype)}:
    ALLOWED_GLOBALS[("torch", str(_dtype).split(".")[-1])] = _dtype
for _name in dir(np.dtypes) if hasattr(np, "dtypes") else ():
    if _name.endswith("DType") and isinstance(getattr(np.dtypes, _name), type):
        ALLOWED_GLOBALS[("numpy.dtypes", _name)] = getattr(np.dtypes, _name)

# What REDUCE / INST / OBJ may call, and what NEWOBJ may instantiate (identity, not equality).
_CALLABLE = {id(v) for v in ALLOWED_GLOBALS.values() if callable(v) and not isinstance(v, torch.dtype)}
_NEWOBJ_CLASSES = (collections.OrderedDict, collections.Counter, set, frozenset, np.ndarray, np.dtype)


# ----------------------------------------------------------------------------- the unpickler
class Unpickler(pickle._Unpickler):
    """``pickle``'s pure-Python unpickler with every calling or mutating opcode restricted."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def find_class(self, module: str, name: str) -> Any:
        if self.proto < 3 and self.fix_imports:  # Python 2 names, as pickle maps them (no import)
            module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        found = ALLOWED_GLOBALS.get((module, name))
        if found is not None:
            return found
        if is_hostile(module, name):
            raise HostileCheckpointError(f"{module}.{name}")
        return SkippedGlobal(f"{module}.{name}")

    def _call(self, func: Any, args: tuple, kwargs: dict | None = None) -> Any:
        if isinstance(func, SkippedGlobal):
            return SkippedObject(func.qualname)
        if id(func) not in _CALLABLE:
            raise UnpicklingError(f"the checkpoint calls {func!r}, which is not an allowed global")
        return func(*args, **(kwargs or {}))

    def _load_reduce(self) -> None:
        args = self.stack.pop()
        self.stack[-1] = self._call(self.stack[-1], args)

    def _instantiate(self, klass: Any, args: list) -> None:  # INST and OBJ
        self.append(self._call(klass, tuple(args)))

    def _new(self, cls: Any, args: tuple, kwargs: dict) -> Any:
        if isinstance(cls, SkippedGlobal):
            return SkippedObject(cls.qualname)
        if not (isinstance(cls, type) and cls in _NEWOBJ_CLASSES):
            raise UnpicklingError(f"the checkpoint instantiates {cls!r}, which is not an allowed class")
        return cls.__new__(cls, *args, **kwargs)

    def _load_newobj(self) -> None:
        args = self.stack.pop()
        self.stack[-1] = self._new(self.stack[-1], args, {})

    def _load_newobj_ex(self) -> None:
        kwargs, args, cls = self.stack.pop(), self.stack.pop(), self.stack.pop()
        self.append(self._new(cls, args, kwargs))

    def _load_build(self) -> None:
        state = self.stack.pop()
        inst = self.stack[-1]
        if isinstance(inst, SkippedObject):
            return  # its state is dropped with it
        if type(inst) is np.ndarray or isinstance(inst, np.dtype):
            inst.__setstate__(state)  # numpy's own (C) state restore: shape, dtype, raw data
            return
        if type(inst) in (collections.OrderedDict, collections.Counter):
            # e.g. a state dict's ``_metadata``: attributes with string names, data values
            attributes = state[0] if isinstance(state, tuple) and len(state) == 2 else state
            for key, value in (attributes or {}).items():
                if not isinstance(key, str) or key.startswith("__"):
                    raise UnpicklingError(f"attribute {key!r} may not be set on a {type(inst).__name__}")
                inst.__dict__[key] = value
            return
        raise UnpicklingError(f"the checkpoint sets the state of a {type(inst).__name__}, which is not allowed")

    def _load_appends(self) -> None:
        items = self.pop_mark()
        self._extend(self.stack[-1], items)

    def _load_append(self) -> None:
        item = self.stack.pop()
        self._extend(self.stack[-1], [item])

    @staticmethod
    def _extend(target: Any, items: list) -> None:
        if type(target) is list:
            target.extend(items)
        elif not isinstance(target, SkippedObject):
            raise UnpicklingError(f"the checkpoint appends to a {type(target).__name__}, which is not allowed")

    def _load_setitems(self) -> None:
        items = self.pop_mark()
        self._set_items(self.stack[-1], items)

    def _load_setitem(self) -> None:
        value, key = self.stack.pop(), self.stack.pop()
        self._set_items(self.stack[-1], [key, value])

    @staticmethod
    def _set_items(target: Any, items: list) -> None:
        if type(target) in (dict, collections.OrderedDict, collections.Counter):
            for i in range(0, len(items), 2):
                target[items[i]] = items[i + 1]  # the exact built-in type's own __setitem__
        elif not isinstance(target, SkippedObject):
            raise UnpicklingError(f"the checkpoint sets items of a {type(target).__name__}, which is not allowed")

    def _load_additems(self) -> None:
        items = self.pop_mark()
        target = self.stack[-1]
        if type(target) is set:
            target.update(items)
        elif not isinstance(target, SkippedObject):
            raise UnpicklingError(f"the checkpoint adds to a {type(target).__name__}, which is not allowed")

    def _load_ext(self) -> None:
        # copyreg's extension registry resolves through a process-wide cache; checkpoints never use it
        raise UnpicklingError("the checkpoint uses pickle's extension registry (EXT opcodes)")

    dispatch[pickle.REDUCE[0]] = _load_reduce
    dispatch[pickle.NEWOBJ[0]] = _load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = _load_newobj_ex
    dispatch[pickle.BUILD[0]] = _load_build
    dispatch[pickle.APPEND[0]] = _load_append
    dispatch[pickle.APPENDS[0]] = _load_appends
    dispatch[pickle.SETITEM[0]] = _load_setitem
    dispatch[pickle.SETITEMS[0]] = _load_setitems
    dispatch[pickle.ADDITEMS[0]] = _load_additems
    for _opcode in (pickle.EXT1, pickle.EXT2, pickle.EXT4):
        dispatch[_opcode[0]] = _load_ext


def load(file, **kwargs) -> Any:
    """``pickle.load`` with :class:`Unpickler` (torch's legacy format reads its headers with it)."""
    return Unpickler(file, **kwargs).load()


def loads(data: bytes, **kwargs) -> Any:
    """``pickle.loads`` with :class:`Unpickler`."""
    return load(io.BytesIO(data), **kwargs)


# ----------------------------------------------------------------------------- after loading
def find_skipped(obj: Any, path: str = "") -> list[tuple[str, str]]:
    """``[(key path, qualified name), ...]`` of every :class:`SkippedObject`/:class:`SkippedGlobal` in ``obj``."""
    return list(_walk_skipped(obj, path))


def _walk_skipped(obj: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(obj, (SkippedObject, SkippedGlobal)):
        yield path or "<top level>", obj.qualname
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _walk_skipped(value, f"{path}.{key}" if path else str(key))
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for index, value in enumerate(obj):
            yield from _walk_skipped(value, f"{path}[{index}]")


def drop_skipped(obj: Any) -> Any:
    """``obj`` without its skipped objects: dict entries and sequence items holding one are removed."""
    def is_skipped(value: Any) -> bool:
        return isinstance(value, (SkippedObject, SkippedGlobal))

    if isinstance(obj, dict) and not isinstance(obj, collections.Counter):
        kept = type(obj)() if type(obj) in (dict, collections.OrderedDict) else {}
        for key, value in obj.items():
            if not is_skipped(value) and not is_skipped(key):
                kept[key] = drop_skipped(value)
        if hasattr(obj, "_metadata"):
            kept._metadata = obj._metadata  # type: ignore[attr-defined]
        return kept
    if isinstance(obj, (list, tuple)):
        items = [drop_skipped(v) for v in obj if not is_skipped(v)]
        return items if isinstance(obj, list) else tuple(items)
    return obj

