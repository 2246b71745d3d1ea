"""Which global names a checkpoint may mention, and what each one means to the reader.

A pickle refers to Python objects by ``module`` + ``name`` (``GLOBAL``, ``STACK_GLOBAL``, ``INST``,
``OBJ``). The reader never imports or looks up such a name. Each one falls in one of three classes:

* **grammar** (:data:`GRAMMAR`): the few names checkpoints are made of (tensor rebuilds, storage
  types, dtypes, layouts, containers, numpy arrays/scalars/dtypes). Each maps to a *kind* that
  :mod:`~nst_det.utils.reader.grammar` interprets from validated arguments.
* **hostile** (:func:`hostile_reason`): names no checkpoint needs and an attack would (process,
  file, import, pickle, code-object and call-forwarding machinery, loaders of other files, any
  ``builtins`` other than the data types, attribute paths such as ``collections.os.system``). The
  file is refused the moment such a name is read, whatever the pickle protocol.
* **skipped**: everything else (mmengine's ``HistoryBuffer``, a user's own classes, whole pickled
  ``nn.Module`` objects). Such an object is never created: it stands as an inert marker, its
  arguments and state are not looked at, and it is removed from what the tools see.
"""
from __future__ import annotations

import _compat_pickle
from typing import Optional

import torch

# ----------------------------------------------------------------------------- grammar
# (module, name) -> kind. Kinds starting with "value:" are names used as values (not called).
GRAMMAR: dict[tuple[str, str], str] = {
    ("torch._utils", "_rebuild_tensor"): "tensor",
    ("torch._utils", "_rebuild_tensor_v2"): "tensor_v2",
    ("torch._utils", "_rebuild_tensor_v3"): "tensor_v3",
    ("torch._utils", "_rebuild_parameter"): "parameter",
    ("torch._utils", "_rebuild_parameter_with_state"): "parameter",
    ("torch._utils", "_rebuild_qtensor"): "qtensor",
    ("torch._utils", "_rebuild_sparse_tensor"): "sparse_tensor",
    ("torch._utils", "_rebuild_device_tensor_from_numpy"): "tensor_from_numpy",
    ("torch._utils", "_rebuild_xla_tensor"): "tensor_from_numpy",
    ("torch._utils", "_rebuild_device_tensor_from_cpu_tensor"): "tensor_from_tensor",
    ("torch._utils", "_rebuild_meta_tensor_no_storage"): "meta_tensor",
    ("torch._tensor", "_rebuild_from_type_v2"): "tensor_from_type",
    ("torch._tensor", "_rebuild_from_type"): "tensor_from_type_v1",
    ("torch.serialization", "_get_layout"): "layout",
    ("torch", "Size"): "size",
    ("torch", "device"): "device",
    ("torch", "Tensor"): "value:tensor_class",
    ("torch._tensor", "Tensor"): "value:tensor_class",
    ("torch.nn.parameter", "Parameter"): "value:parameter_class",
    ("collections", "OrderedDict"): "ordered_dict",
    ("collections", "defaultdict"): "default_dict",
    ("collections", "Counter"): "counter",
    ("builtins", "set"): "set",
    ("builtins", "frozenset"): "frozenset",
    ("builtins", "slice"): "slice",
    ("builtins", "complex"): "complex",
    ("builtins", "bytearray"): "bytearray",
    ("builtins", "bytes"): "bytes",
    ("_codecs", "encode"): "codecs_encode",
    ("copyreg", "_reconstructor"): "reconstructor",  # protocol 0/1: an instance of the class named first
    ("copyreg", "__newobj__"): "reconstructor",
    ("copyreg", "__newobj_ex__"): "reconstructor",
    ("numpy", "ndarray"): "value:ndarray_class",
    ("numpy", "dtype"): "np_dtype",
}
for _module in ("numpy.core.multiarray", "numpy._core.multiarray"):
    GRAMMAR[(_module, "_reconstruct")] = "np_reconstruct"
    GRAMMAR[(_module, "scalar")] = "np_scalar"
for _module in ("numpy.core.numeric", "numpy._core.numeric"):
    GRAMMAR[(_module, "_frombuffer")] = "np_frombuffer"
for _base in ("object", "int", "float", "str", "list", "dict", "tuple", "bool"):
    GRAMMAR[("builtins", _base)] = "value:builtin_type"  # only as _reconstructor's base / a factory

# torch values pickled by name: dtypes, legacy storage types, qschemes, memory formats
DTYPES: dict[str, torch.dtype] = {str(t).split(".")[-1]: t for t in vars(torch).values() if isinstance(t, torch.dtype)}
STORAGE_DTYPES: dict[str, Optional[torch.dtype]] = {
    name: dtype for dtype, name in torch.storage._dtype_to_storage_type_map().items()}
STORAGE_DTYPES["UntypedStorage"] = None  # bytes; the tensor rebuild names the dtype (_rebuild_tensor_v3)
QSCHEMES: dict[str, torch.qscheme] = {n: getattr(torch, n) for n in (
    "per_tensor_affine", "per_channel_affine", "per_channel_affine_float_qparams", "per_tensor_symmetric",
    "per_channel_symmetric")}
LAYOUTS: dict[str, torch.layout] = {f"torch.{n}": getattr(torch, n) for n in (
    "strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc", "_mkldnn", "jagged")
    if hasattr(torch, n)}
MEMORY_FORMATS = {n: getattr(torch, n) for n in ("contiguous_format", "channels_last", "channels_last_3d",
                                                  "preserve_format")}
for _name in DTYPES:
    GRAMMAR[("torch", _name)] = "value:dtype"
for _name in STORAGE_DTYPES:
    GRAMMAR[("torch", _name)] = "value:storage_type"
GRAMMAR[("torch.storage", "UntypedStorage")] = "value:storage_type"
for _name in QSCHEMES:
    GRAMMAR[("torch", _name)] = "value:qscheme"
for _name in MEMORY_FORMATS:
    GRAMMAR[("torch", _name)] = "value:memory_format"

# Known non-data objects of common checkpoint writers: skipped without comment on their names.
# ``builtins.getattr`` is how mmengine's message hub pickles the bound methods of its HistoryBuffers.
SKIPPED_ON_PURPOSE = frozenset({("builtins", "getattr")})

# ----------------------------------------------------------------------------- hostile names
# top-level modules (the first component of the module path)
_HOSTILE_ROOTS = frozenset({
    # processes, the OS, files and the network
    "os", "posix", "nt", "posixpath", "ntpath", "subprocess", "_posixsubprocess", "sys", "shutil", "socket",
    "_socket", "ssl", "http", "urllib", "urllib3", "requests", "ftplib", "smtplib", "telnetlib", "xmlrpc",
    "socketserver", "select", "selectors", "ctypes", "_ctypes", "cffi", "pty", "tty", "fcntl", "resource", "mmap",
    "signal", "webbrowser", "tempfile", "glob", "pathlib", "io", "_io", "codecs", "zipfile", "tarfile", "gzip",
    "bz2", "lzma", "zlib", "shelve", "dbm", "sqlite3", "logging", "platform", "sysconfig", "site",
    # imports, code objects, interpreters, debuggers
    "importlib", "imp", "runpy", "code", "codeop", "zipimport", "pkgutil", "pkg_resources", "setuptools",
    "distutils", "pip", "ensurepip", "venv", "types", "inspect", "gc", "weakref", "pdb", "bdb", "trace",
    "timeit", "doctest", "__builtin__", "__builtins__", "builtins", "exceptions",
    # call forwarding and pickling machinery
    "operator", "_operator", "functools", "_functools", "itertools", "copy", "copyreg", "pickle", "_pickle",
    "pickletools", "marshal", "dill", "cloudpickle", "joblib", "multiprocessing", "concurrent", "threading",
    "_thread", "asyncio", "contextlib",
})
# modules that are hostile wherever they appear in a module path (``foo.os``, ``numpy.core.sys``)
_HOSTILE_ANYWHERE = frozenset({
    "os", "posix", "nt", "subprocess", "_posixsubprocess", "sys", "builtins", "__builtin__", "importlib",
    "marshal", "ctypes", "shutil", "runpy", "pty", "_operator"})
# parts of torch and numpy that load other files, compile or run code
_HOSTILE_IN_TORCH_NUMPY = frozenset({
    "serialization", "hub", "jit", "package", "utils", "_C", "ops", "_ops", "classes", "library", "_dynamo",
    "_inductor", "compiler", "fx", "distributed", "multiprocessing", "lib", "f2py", "ctypeslib", "testing",
    "distutils"})
# a final name that only serves to run code, read or write files, or load another pickle
_HOSTILE_NAMES = frozenset({
    "eval", "exec", "execfile", "compile", "open", "__import__", "import_module", "system", "popen", "spawn",
    "spawnl", "spawnv", "call", "check_call", "check_output", "run", "load", "loads", "load_module", "from_file",
    "fromfile", "memmap", "save", "dump", "dumps", "setattr", "delattr", "getattribute", "globals", "locals",
    "vars", "input", "breakpoint", "exit", "quit", "remove", "unlink", "rmtree", "rename", "apply",
    "attrgetter", "itemgetter", "methodcaller", "partial", "FunctionType", "CodeType", "LambdaType",
    "MethodType",
})
# names in ``builtins`` that the grammar knows or that are skipped on purpose; any other builtin is refused
_BUILTIN_DATA = {name for module, name in GRAMMAR if module == "builtins"} | {"getattr"}


def python2_name(module: str, name: str) -> tuple[str, str]:
    """``(module, name)`` with Python 2 names mapped as ``pickle`` maps them (``__builtin__`` -> ``builtins``)."""
    module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def hostile_reason(module: str, name: str) -> Optional[str]:
    """Why ``module.name`` has no place in a checkpoint (an attack's name), or ``None``.

    Checked on the name as written and as Python 2 names map, whatever the pickle protocol.
    """
    if grammar_kind(module, name) is not None or skipped_on_purpose(module, name):
        return None
    for mod, nm in {(module, name), python2_name(module, name)}:
        if "." in nm:
            return "an attribute path (a dotted name reaches any object through a module)"
        parts = mod.split(".") + [nm]
        if any(p.startswith("__") and p.endswith("__") for p in parts):
            return "a dunder name"
        if mod in ("builtins", "__builtin__") and nm not in _BUILTIN_DATA:
            return "a builtin that is not a data type"
        path = mod.split(".")
        if (path[0] in _HOSTILE_ROOTS or any(p in _HOSTILE_ANYWHERE for p in path) or nm in _HOSTILE_NAMES
                or (path[0] in ("torch", "numpy") and any(p in _HOSTILE_IN_TORCH_NUMPY for p in path[1:]))):
            return "a name only code execution, file access or another loader needs"
    return None


def grammar_kind(module: str, name: str) -> Optional[str]:
    """The grammar's kind for ``module.name`` (Python 2 names mapped), or ``None``."""
    return GRAMMAR.get((module, name)) or GRAMMAR.get(python2_name(module, name))


def skipped_on_purpose(module: str, name: str) -> bool:
    """Whether ``module.name`` is a known non-data name that is skipped without remark."""
    return (module, name) in SKIPPED_ON_PURPOSE or python2_name(module, name) in SKIPPED_ON_PURPOSE
