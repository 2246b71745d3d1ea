"""A small pickle assembler and writers of torch's three checkpoint formats, for crafting hostile files.

``torch.save`` and ``pickle.dumps`` only write what an object's own ``__reduce__`` says; an attacker
writes opcodes. :class:`Asm` emits them one by one (``asm.glob('os', 'system').text('id').tuple1()
.reduce().stop()``), and :func:`torch_zip`, :func:`legacy_file` and :func:`tar_file` wrap a pickle in
the container formats ``torch.load`` reads, with whatever records or members the test wants.
"""
from __future__ import annotations

import io
import os
import pickle
import struct
import tarfile
import zipfile
from pathlib import Path
from typing import Optional, Union

P = pickle
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class Asm:
    """Pickle opcodes, appended in order; every method returns ``self``."""

    def __init__(self, protocol: int = 2) -> None:
        self.out = bytearray(P.PROTO + bytes([protocol])) if protocol >= 2 else bytearray()

    def raw(self, data: bytes) -> "Asm":
        self.out += data
        return self

    def op(self, opcode: bytes) -> "Asm":
        return self.raw(opcode)

    # values
    def none(self) -> "Asm":
        return self.op(P.NONE)

    def bool(self, value: bool) -> "Asm":
        return self.op(P.NEWTRUE if value else P.NEWFALSE)

    def int(self, value: int) -> "Asm":
        if 0 <= value < 256:
            return self.raw(P.BININT1 + bytes([value]))
        if -(1 << 31) <= value < (1 << 31):
            return self.raw(P.BININT + struct.pack("<i", value))
        data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
        return self.raw(P.LONG4 + struct.pack("<i", len(data)) + data)

    def float(self, value: float) -> "Asm":
        return self.raw(P.BINFLOAT + struct.pack(">d", value))

    def text(self, value: str) -> "Asm":
        data = value.encode()
        return self.raw(P.BINUNICODE + struct.pack("<I", len(data)) + data)

    def bytes(self, value: bytes) -> "Asm":
        return self.raw(P.BINBYTES + struct.pack("<I", len(value)) + value)

    # names and calls
    def glob(self, module: str, name: str) -> "Asm":
        return self.raw(P.GLOBAL + f"{module}\n{name}\n".encode())

    def stack_global(self, module: str, name: str) -> "Asm":
        return self.text(module).text(name).op(P.STACK_GLOBAL)

    def reduce(self) -> "Asm":
        return self.op(P.REDUCE)

    def newobj(self) -> "Asm":
        return self.op(P.NEWOBJ)

    def build(self) -> "Asm":
        return self.op(P.BUILD)

    def persid(self) -> "Asm":
        return self.op(P.BINPERSID)

    # containers
    def mark(self) -> "Asm":
        return self.op(P.MARK)

    def tuple(self) -> "Asm":
        return self.op(P.TUPLE)

    def tuple1(self) -> "Asm":
        return self.op(P.TUPLE1)

    def tuple2(self) -> "Asm":
        return self.op(P.TUPLE2)

    def tuple3(self) -> "Asm":
        return self.op(P.TUPLE3)

    def empty_tuple(self) -> "Asm":
        return self.op(P.EMPTY_TUPLE)

    def empty_list(self) -> "Asm":
        return self.op(P.EMPTY_LIST)

    def empty_dict(self) -> "Asm":
        return self.op(P.EMPTY_DICT)

    def empty_set(self) -> "Asm":
        return self.op(P.EMPTY_SET)

    def append(self) -> "Asm":
        return self.op(P.APPEND)

    def appends(self) -> "Asm":
        return self.op(P.APPENDS)

    def setitem(self) -> "Asm":
        return self.op(P.SETITEM)

    def setitems(self) -> "Asm":
        return self.op(P.SETITEMS)

    def additems(self) -> "Asm":
        return self.op(P.ADDITEMS)

    # memo
    def put(self, index: int) -> "Asm":
        return self.raw(P.LONG_BINPUT + struct.pack("<I", index))

    def get(self, index: int) -> "Asm":
        return self.raw(P.LONG_BINGET + struct.pack("<I", index))

    def pop(self) -> "Asm":
        return self.op(P.POP)

    def stop(self) -> bytes:
        return bytes(self.out + P.STOP)

    # torch pieces
    def storage(self, key: str, numel: int, storage_type: str = "FloatStorage", location: str = "cpu",
                legacy: bool = False) -> "Asm":
        """A storage reference (persistent id): ``('storage', torch.<type>, key, location, numel)``, and
        ``view_metadata=None`` last in the legacy format."""
        self.mark().text("storage").glob("torch", storage_type).text(key).text(location).int(numel)
        return (self.none() if legacy else self).tuple().persid()

    def tensor_v2(self, key: str, numel: int, size: tuple, stride: tuple, offset: int = 0,
                  storage_type: str = "FloatStorage", legacy: bool = False) -> "Asm":
        """``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())``."""
        self.glob("torch._utils", "_rebuild_tensor_v2").mark().storage(key, numel, storage_type, legacy=legacy)
        self.int(offset)
        self.ints(size).ints(stride).bool(False).glob("collections", "OrderedDict").empty_tuple().reduce()
        return self.tuple().reduce()

    def ints(self, values: tuple) -> "Asm":
        self.mark()
        for value in values:
            self.int(value)
        return self.tuple()


def torch_zip(path: Path, data_pkl: bytes, records: Optional[dict[str, bytes]] = None, prefix: str = "archive",
              compress: bool = False, extra: Optional[dict[str, bytes]] = None) -> Path:
    """A zip archive laid out as ``torch.save`` writes it: ``<prefix>/data.pkl``, ``<prefix>/data/<key>``,
    ``<prefix>/byteorder``, ``<prefix>/version`` (plus ``extra`` records, stored under their own names)."""
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        archive.writestr(f"{prefix}/data.pkl", data_pkl)
        archive.writestr(f"{prefix}/byteorder", "little")
        for key, data in (records or {}).items():
            archive.writestr(f"{prefix}/data/{key}", data)
        archive.writestr(f"{prefix}/version", "3\n")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


def legacy_file(path: Path, data_pkl: bytes, storages: Optional[dict[str, tuple[int, bytes]]] = None) -> Path:
    """torch's pre-1.6 format: magic, protocol, system info, the object, storage keys, then
    ``int64 numel + raw bytes`` per storage (``storages``: key -> (numel, bytes))."""
    storages = storages or {}
    out = io.BytesIO()
    for value in (LEGACY_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True,
                                       "type_sizes": {"short": 2, "int": 4, "long": 4}}):
        pickle.dump(value, out, protocol=2)
    out.write(data_pkl)
    pickle.dump(list(storages), out, protocol=2)
    for numel, data in storages.values():
        out.write(struct.pack("<q", numel) + data)
    path.write_bytes(out.getvalue())
    return path


def tar_file(path: Path, members: dict[str, Union[bytes, str]], fifo: Optional[str] = None,
             symlink: Optional[tuple[str, str]] = None) -> Path:
    """A tar archive as torch < 0.4 wrote it (``sys_info``, ``pickle``, ``storages``, ``tensors``).

    ``members`` maps names to bytes; ``fifo`` adds a FIFO member of that name; ``symlink`` adds a
    symbolic link ``(name, target)``.
    """
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members.items():
            data = data.encode() if isinstance(data, str) else data
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if fifo is not None:
            info = tarfile.TarInfo(fifo)
            info.type = tarfile.FIFOTYPE
            archive.addfile(info)
        if symlink is not None:
            info = tarfile.TarInfo(symlink[0])
            info.type, info.linkname = tarfile.SYMTYPE, symlink[1]
            archive.addfile(info)
    return path


def tar_checkpoint(path: Path, values: list[float], drop: Optional[str] = None, fifo: Optional[str] = None,
                   symlink: Optional[tuple[str, str]] = None) -> Path:
    """A tar checkpoint holding ``{'w': FloatTensor(values)}`` (one storage, one tensor); ``drop`` leaves a
    member out, ``fifo``/``symlink`` add special members (see :func:`tar_file`)."""
    storages = io.BytesIO()
    pickle.dump(1, storages, protocol=2)
    storages.write(Asm().mark().int(0).text("cpu").glob("torch", "FloatStorage").tuple().stop())
    storages.write(struct.pack("<q", len(values)) + struct.pack(f"<{len(values)}f", *values))
    pickle.dump([], storages, protocol=2)
    tensors = io.BytesIO()
    pickle.dump(1, tensors, protocol=2)
    tensors.write(Asm().mark().int(1).int(0).glob("torch", "FloatTensor").tuple().stop())
    tensors.write(struct.pack("<i", 1) + b"\0" * 4 + struct.pack("<q", len(values)) + struct.pack("<q", 1)
                  + struct.pack("<q", 0))
    members = {"sys_info": pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2),
               "pickle": Asm().empty_dict().text("w").int(1).persid().setitem().stop(),
               "storages": storages.getvalue(), "tensors": tensors.getvalue()}
    members.pop(drop, None)
    return tar_file(path, members, fifo=fifo, symlink=symlink)


def fifo(path: Path) -> Path:
    """A named pipe at ``path`` (reading it would block forever)."""
    os.mkfifo(path)
    return path
