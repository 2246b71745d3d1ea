"""Hostile checkpoint files, by class of attack (issue 19), built with the pickle assembler.

:data:`ATTACKS` maps a name to an :class:`Attack`: how to write the file (``make(tmp_dir, marker)``),
and what the reader must do with it — ``"refused"`` (one line containing ``fragment``) or ``"loaded"``
(``check`` validates what came back). Whatever the outcome, nothing in the file may run (the marker
file stays absent), crash, hang or allocate more than the file backs. ``tests/reader_harness.py``
reads every file at every entry point of the tools in a subprocess under a time limit and an
address-space limit; ``tests/test_reader_attacks.py`` runs it, and reads the fast ones in-process.
"""
from __future__ import annotations

import struct
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Optional

import torch
from pickle_asm import Asm, fifo, tar_checkpoint, torch_zip

FOUR_FLOATS = struct.pack("<4f", 1.0, 2.0, 3.0, 4.0)
Make = Callable[[Path, Path], Path]


class Attack:
    """A hostile file and the outcome the reader must give it."""

    def __init__(self, group: str, make: Make, expect: str, fragment: str = "",
                 check: Optional[Callable[[Any], None]] = None, resources: bool = False) -> None:
        self.group, self.make, self.expect, self.fragment, self.check = group, make, expect, fragment, check
        self.resources = resources  # reading it in-process would risk the test process itself (memory, time)


def _zip(tmp: Path, name: str, asm: Asm, **kwargs) -> Path:
    """``asm``'s pickle as the data.pkl of a torch zip whose storage ``0`` holds four floats."""
    return torch_zip(tmp / f"{name}.pth", asm.stop(), {"0": FOUR_FLOATS}, **kwargs)


def _with_weights(asm_value: Callable[[Asm], Asm]) -> Asm:
    """``{'w': tensor([1., 2., 3., 4.]), 'x': <the value asm_value pushes>}``."""
    asm = Asm().empty_dict().mark().text("w").tensor_v2("0", 4, (4,), (1,)).text("x")
    return asm_value(asm).setitems()


def _dtype(asm: Asm, code: str, order: str = "<", elsize: int = -1) -> Asm:
    """``numpy.dtype(code)`` with its BUILD state, as numpy pickles it."""
    asm.glob("numpy", "dtype").text(code).bool(False).bool(True).tuple3().reduce()
    return asm.mark().int(3).text(order).none().none().none().int(elsize).int(-1).int(0).tuple().build()


def _array(asm: Asm, shape: int, code: str, raw: Any, memo: Optional[int] = None) -> Asm:
    """``numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')`` + BUILD ``(1, (shape,), dtype, False, raw)``."""
    asm.glob("numpy.core.multiarray", "_reconstruct").glob("numpy", "ndarray").mark().int(0).tuple()
    asm.bytes(b"b").tuple3().reduce()
    if memo is not None:
        asm.put(memo)
    return _array_state(asm, shape, code, raw)


def _array_state(asm: Asm, shape: int, code: str, raw: Any) -> Asm:
    asm.mark().int(1).mark().int(shape).tuple()
    _dtype(asm, code).bool(False)
    (asm.bytes(raw) if isinstance(raw, bytes) else asm.empty_list())
    return asm.tuple().build()


def _expect_weights(result: Any) -> None:
    assert torch.equal(result["w"], torch.tensor([1.0, 2.0, 3.0, 4.0])), result


# ----------------------------------------------------------------------------- 1. TorchScript, torch.package
def _torchscript(tmp: Path, marker: Path) -> Path:
    asm = Asm().glob("__torch__", "M").empty_tuple().newobj().mark().text(str(marker)).tuple().build()
    return _zip(tmp, "torchscript", asm, extra={"archive/constants.pkl": Asm().empty_tuple().stop(),
                                                "archive/code/__torch__.py": b"class M(Module):\n  pass\n"})


def _torchscript_code_only(tmp: Path, marker: Path) -> Path:
    return _zip(tmp, "torchscript_code_only", Asm().empty_dict(), extra={"archive/code/__torch__.py": b"x = 1\n"})


def _torchscript_names_only(tmp: Path, marker: Path) -> Path:  # its records renamed away, its names remain
    return _zip(tmp, "torchscript_names", Asm().glob("__torch__", "M").empty_tuple().newobj())


def _torch_package(tmp: Path, marker: Path) -> Path:
    return _zip(tmp, "package", Asm().empty_dict(), extra={".data/extern_modules": b"os\n"})


# ----------------------------------------------------------------------------- 2. containers with attributes
def _shadowed_ordered_dict(name: str, attributes: dict[str, tuple[str, str]]) -> Make:
    """An OrderedDict checkpoint with ``BUILD {attr: global}`` (it passes torch's own weights-only loader):
    ``{'state_dict': {'conv1.weight': ...}, 'meta': {'config': <code>}}``."""
    def make(tmp: Path, marker: Path) -> Path:
        asm = Asm().glob("collections", "OrderedDict").empty_tuple().reduce().mark()
        asm.text("state_dict").glob("collections", "OrderedDict").empty_tuple().reduce()
        asm.mark().text("conv1.weight").tensor_v2("0", 4, (4,), (1,)).setitems()
        asm.text("meta").empty_dict().mark().text("config").text(f"open({str(marker)!r}, 'w').close()\n")
        asm.setitems().setitems().empty_dict().mark()
        for attribute, (module, qualname) in attributes.items():
            asm.text(attribute).glob(module, qualname)
        return _zip(tmp, name, asm.setitems().build())
    return make


def _plain_ordered_dict(result: Any) -> None:
    assert type(result) is OrderedDict and not vars(result), vars(result)
    assert list(result) == ["state_dict", "meta"] and result.get("meta") is result["meta"]
    assert torch.equal(result["state_dict"]["conv1.weight"], torch.tensor([1.0, 2.0, 3.0, 4.0]))


def _build_on_dict(tmp: Path, marker: Path) -> Path:
    return _zip(tmp, "build_on_dict", Asm().empty_dict().empty_dict().mark().text("get")
                .glob("builtins", "set").setitems().build())


# ----------------------------------------------------------------------------- 3. BUILD on objects in use
def _rebuild_array_after_tensor(tmp: Path, marker: Path) -> Path:
    asm = Asm().empty_list().mark()
    _array(asm, 2, "f4", struct.pack("<2f", 1, 2), memo=7)
    asm.glob("torch._utils", "_rebuild_device_tensor_from_numpy").mark().get(7).glob("torch", "float32")
    asm.text("cpu").bool(False).tuple().reduce()
    asm.get(7)  # the array the tensor was made from, BUILT again with other bytes
    _array_state(asm, 2, "f4", struct.pack("<2f", 5, 6))
    return _zip(tmp, "rebuild_array", asm.appends())


def _rebuild_dtype(tmp: Path, marker: Path) -> Path:
    asm = Asm().empty_list().mark()
    _dtype(asm, "f8").put(3)
    asm.get(3).mark().int(3).text("<").none().none().none().int(1 << 30).int(1).int(0).tuple().build()
    return _zip(tmp, "rebuild_dtype", asm.appends())


def _build_on_tensor(tmp: Path, marker: Path) -> Path:
    asm = Asm().tensor_v2("0", 4, (4,), (1,)).empty_dict().mark().text("data").none().setitems().build()
    return _zip(tmp, "build_on_tensor", asm)


# ----------------------------------------------------------------------------- 4. resources
def _bytearrays(tmp: Path, marker: Path) -> Path:
    asm = Asm().empty_list().mark()
    for _ in range(20):
        asm.glob("builtins", "bytearray").int(1 << 30).tuple1().reduce()
    return _zip(tmp, "bytearrays", asm.appends())


def _object_array(tmp: Path, marker: Path) -> Path:
    def value(asm: Asm) -> Asm:
        asm.glob("numpy.core.multiarray", "_reconstruct").glob("numpy", "ndarray").mark().int(125_000_000)
        asm.tuple().bytes(b"O").tuple3().reduce()
        return _array_state(asm, 125_000_000, "O8", [])
    return _zip(tmp, "object_array", _with_weights(value))


def _array_without_data(tmp: Path, marker: Path) -> Path:
    return _zip(tmp, "array_without_data", _with_weights(lambda asm: _array(asm, 125_000_000, "f8", b"")))


def _view_past_storage(tmp: Path, marker: Path) -> Path:
    return _zip(tmp, "view_past_storage", Asm().tensor_v2("0", 4, (1 << 40,), (1,)))


def _storage_past_record(tmp: Path, marker: Path) -> Path:
    return _zip(tmp, "storage_past_record", Asm().tensor_v2("0", 1 << 28, (4,), (1,)))


def _reference_dag(tmp: Path, marker: Path) -> Path:
    asm = Asm().empty_list().put(0).pop()
    for level in range(1, 41):  # level k: [level k-1, level k-1]; 2**40 lists when walked as a tree
        asm.mark().get(level - 1).get(level - 1).raw(b"l").put(level).pop()
    return _zip(tmp, "reference_dag", asm.get(40))


def _self_reference(tmp: Path, marker: Path) -> Path:
    return _zip(tmp, "self_reference", Asm().empty_list().put(0).get(0).append())


def _deep_nesting(tmp: Path, marker: Path) -> Path:
    return _zip(tmp, "deep_nesting", Asm().raw(b"]" * 200_000 + b"a" * 199_999))


def _deflate_bomb(tmp: Path, marker: Path) -> Path:
    path = torch_zip(tmp / "deflate_bomb.pth", Asm().bytes(b"\0" * (64 << 20)).stop(), compress=True)
    assert path.stat().st_size < (1 << 18)  # 64 MiB in under 256 KiB
    return path


def _huge_length(tmp: Path, marker: Path) -> Path:
    return _zip(tmp, "huge_length", Asm().raw(b"\x8d" + struct.pack("<Q", 1 << 60)))  # BINUNICODE8


def _many_objects(tmp: Path, marker: Path) -> Path:
    return _zip(tmp, "many_objects", Asm().empty_list().mark().raw(b"N" * 6_000_000).appends())


# ----------------------------------------------------------------------------- 5. names and markers
def _hostile(name: str, module: str, qualname: str, protocol: int = 2, stack: bool = False) -> Make:
    def make(tmp: Path, marker: Path) -> Path:
        asm = Asm(protocol)
        (asm.stack_global(module, qualname) if stack else asm.glob(module, qualname))
        asm.mark().text(f"touch {marker}").tuple().reduce()
        return _zip(tmp, name, asm)
    return make


def _call_of_a_call(tmp: Path, marker: Path) -> Path:  # getattr(Unknown, 'method')(): calls a call's result
    asm = Asm().glob("builtins", "getattr").mark().glob("mylib", "Thing").text("touch").tuple().reduce()
    return _zip(tmp, "call_of_call", asm.empty_tuple().reduce())


def _markers_everywhere(tmp: Path, marker: Path) -> Path:
    """Objects of unknown classes as dict keys, in a set, a frozenset, a Counter, a tuple and a list."""
    def unknown(asm: Asm) -> Asm:
        return asm.glob("mylib", "Thing").empty_tuple().newobj()

    asm = Asm().empty_dict().mark().text("w").tensor_v2("0", 4, (4,), (1,))
    unknown(asm).int(1)
    asm.text("set").empty_set().mark().int(1)
    unknown(asm).additems()
    asm.text("frozenset").mark().int(2)
    unknown(asm).raw(b"\x91")  # FROZENSET
    asm.text("counter").glob("collections", "Counter").mark().empty_dict().mark()
    unknown(asm).int(3).setitems().tuple().reduce()
    asm.text("tuple").mark().int(4)
    unknown(asm).tuple()
    asm.text("list").empty_list().mark()
    unknown(asm).int(5).appends()
    asm.text("size").glob("torch", "Size").mark().int(2).int(3).tuple().tuple1().reduce()
    return _zip(tmp, "markers_everywhere", asm.setitems())


def _markers_dropped(result: Any) -> None:
    assert set(result) == {"w", "set", "frozenset", "counter", "tuple", "list", "size"}, result
    assert result["set"] == {1} and result["frozenset"] == frozenset({2}) and result["counter"] == {}
    assert result["tuple"] == (4,) and result["list"] == [5]
    assert type(result["size"]) is torch.Size and result["size"] == (2, 3)
    _expect_weights(result)


def _tar_fifo_member(tmp: Path, marker: Path) -> Path:
    return tar_checkpoint(tmp / "tar_fifo.tar", [1.0, 2.0], drop="storages", fifo="storages")


def _tar_symlink_member(tmp: Path, marker: Path) -> Path:
    return tar_checkpoint(tmp / "tar_symlink.tar", [1.0, 2.0], drop="storages", symlink=("storages", "/etc/passwd"))


def _fifo_file(tmp: Path, marker: Path) -> Path:
    return fifo(tmp / "fifo.pth")


HOSTILE = "which no checkpoint needs and an attack would use"
CANNOT = "cannot be read as data"
CORRUPT = "is not a readable PyTorch checkpoint"
ATTACKS: dict[str, Attack] = {
    # 1
    "torchscript archive": Attack("torchscript", _torchscript, "refused", "TorchScript archive"),
    "torchscript code folder only": Attack("torchscript", _torchscript_code_only, "refused", "TorchScript archive"),
    "torchscript names only": Attack("torchscript", _torchscript_names_only, "refused",
                                     "refers to __torch__.M, " + HOSTILE),
    "torch.package archive": Attack("torchscript", _torch_package, "refused", "torch.package archive"),
    # 2
    "OrderedDict get=builtins.set": Attack("attributes", _shadowed_ordered_dict(
        "shadow_get", {"get": ("builtins", "set")}), "loaded", check=_plain_ordered_dict),
    "OrderedDict values/get/keys/items shadowed": Attack("attributes", _shadowed_ordered_dict("shadow_many", {
        "values": ("builtins", "list"), "get": ("builtins", "set"), "keys": ("builtins", "tuple"),
        "items": ("collections", "OrderedDict"), "__class__": ("builtins", "dict")}), "loaded",
        check=_plain_ordered_dict),
    "BUILD on a plain dict": Attack("attributes", _build_on_dict, "refused", "sets the state of a DictNode"),
    # 3
    "numpy array re-BUILT after a tensor used it": Attack("rebuild", _rebuild_array_after_tensor, "refused",
                                                          "sets the state of one object twice"),
    "numpy dtype re-BUILT with another item size": Attack("rebuild", _rebuild_dtype, "refused",
                                                          "sets the state of one object twice"),
    "BUILD on a tensor": Attack("rebuild", _build_on_tensor, "refused", "is given state or items"),
    # 4
    "20 x 1 GiB bytearray": Attack("resources", _bytearrays, "refused", "bytes are built from something",
                                   resources=True),
    "125M-element object array": Attack("resources", _object_array, "loaded", check=_expect_weights,
                                        resources=True),
    "125M-element array without its bytes": Attack("resources", _array_without_data, "refused", "has 0 bytes",
                                                   resources=True),
    "tensor view past its storage": Attack("resources", _view_past_storage, "refused",
                                           "reaches past the end of its storage"),
    "storage larger than its record": Attack("resources", _storage_past_record, "refused", "not the 1073741824"),
    "reference DAG of 40 levels": Attack("resources", _reference_dag, "refused", "walked as a tree", resources=True),
    "self-referencing list": Attack("resources", _self_reference, "refused", "contains itself"),
    "200,000 nested lists": Attack("resources", _deep_nesting, "refused", "deeper than 100 levels", resources=True),
    "deflate bomb": Attack("resources", _deflate_bomb, "refused", "compressed or encrypted", resources=True),
    "length field of 2**60 bytes": Attack("resources", _huge_length, "refused", "runs past the end of the data"),
    "6 million objects": Attack("resources", _many_objects, "refused", "more than 5,000,000 objects",
                                resources=True),
    "tar member 'storages' is a FIFO": Attack("resources", _tar_fifo_member, "refused", "not a regular file"),
    "tar member 'storages' is a symlink": Attack("resources", _tar_symlink_member, "refused", "not a regular file"),
    "the checkpoint path is a FIFO": Attack("resources", _fifo_file, "refused", "is not a file"),
    # 5
    "__builtin__.eval, protocol 3": Attack("names", _hostile("eval_p3", "__builtin__", "eval", protocol=3),
                                           "refused", HOSTILE),
    "builtins.eval by STACK_GLOBAL": Attack("names", _hostile("eval_p4", "builtins", "eval", 4, stack=True),
                                            "refused", HOSTILE),
    "_operator.attrgetter": Attack("names", _hostile("attrgetter", "_operator", "attrgetter"), "refused", HOSTILE),
    "types.FunctionType": Attack("names", _hostile("functiontype", "types", "FunctionType"), "refused", HOSTILE),
    "numpy.lib._npyio_impl.load": Attack("names", _hostile("npload", "numpy.lib._npyio_impl", "load"), "refused",
                                         HOSTILE),
    "collections + os.system (dotted name)": Attack("names", _hostile("dotted", "collections", "os.system", 4,
                                                                      stack=True), "refused", HOSTILE),
    "torch.from_file": Attack("names", _hostile("from_file", "torch", "from_file"), "refused", HOSTILE),
    "getattr(...)(...) chain": Attack("names", _call_of_a_call, "refused", "not a global name"),
    "unknown objects as keys, in sets, Counter, tuple, list": Attack("names", _markers_everywhere, "loaded",
                                                                     check=_markers_dropped),
}
