"""The three file formats ``torch.save`` has written, read as data.

* **zip** (torch >= 1.6): ``<name>/data.pkl`` plus one uncompressed record per storage. TorchScript
  (``constants.pkl``, ``code/``) and ``torch.package`` archives are refused before anything is read;
  so are compressed or encrypted records and more records than the budget.
* **legacy** (torch < 1.6): consecutive pickles (magic number, protocol, system info, the object,
  storage keys), then each storage's raw bytes.
* **tar** (torch < 0.4): members ``sys_info``, ``pickle``, ``storages``, ``tensors``; any other
  member, and any member that is not a regular file (a FIFO, a link, a device), is refused.

Storage bytes are copied into fresh tensors' memory; all storages together may not exceed the file's
size (overlapping zip records cannot multiply it).
"""
from __future__ import annotations

import re
import struct
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import torch

from nst_det.utils.reader import pickle_vm
from nst_det.utils.reader.build import Builder
from nst_det.utils.reader.errors import Corrupt, Refused
from nst_det.utils.reader.names import STORAGE_DTYPES
from nst_det.utils.reader.placement import Placement, checked_location, fresh_storage
from nst_det.utils.reader.tensors import rebuild_tensor
from nst_det.utils.reader.values import Limits, NameRef, Skipped, StorageRef, checked_int, checked_ints

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
_KEY = re.compile(r"^[0-9A-Za-z_.-]{1,64}$")
_TORCHSCRIPT_ADVICE = ("It is a TorchScript archive (torch.jit.save), whose loading runs the code it carries. "
                       "Where you trust it, export its weights: torch.save(torch.jit.load(PATH).state_dict(), OUT)")
_TAR_MEMBERS = {"sys_info", "pickle", "storages", "tensors"}


class Budget:
    """Storage bytes left to make: the file's size."""

    def __init__(self, file_bytes: int) -> None:
        self.left = file_bytes

    def take(self, nbytes: int) -> None:
        self.left -= nbytes
        if self.left < 0:
            raise Refused("its storages add up to more bytes than the file holds (overlapping records)")


def storage_dtype(storage_type: Any) -> Any:
    """The dtype of a legacy storage type (``torch.FloatStorage``); ``None`` for ``UntypedStorage``."""
    name = storage_type.qualname.rsplit(".", 1)[-1] if isinstance(storage_type, NameRef) else None
    if storage_type is None or name not in STORAGE_DTYPES or storage_type.kind != "value:storage_type":
        raise Corrupt("a storage reference names no storage type")
    return STORAGE_DTYPES[name]


def element_size(dtype: Any) -> int:
    return torch._utils._element_size(dtype if dtype is not None else torch.uint8)


def read_archive(path: Path, placement: Placement, limits: Limits) -> Any:
    """The object in ``path``, markers and all (see :func:`~nst_det.utils.reader.build.drop_skipped`)."""
    size = path.stat().st_size
    with open(path, "rb") as file:
        head = file.read(512)
        file.seek(0)
        if head[:4] == b"PK\x03\x04":
            return _read_zip(file, size, placement, limits)
        if len(head) >= 262 and head[257:262] == b"ustar":
            return _read_tar(file, size, placement, limits)
        return _read_legacy(file.read(), placement, limits)


# ----------------------------------------------------------------------------- zip
# what zipfile raises for a damaged archive (bad headers, CRC, names, offsets, flags)
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, UnicodeDecodeError,
               NotImplementedError, RuntimeError, struct.error)


def _zip_record(archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        return archive.read(name)
    except _ZIP_ERRORS as exc:
        raise Corrupt(f"its zip record {name!r} is damaged ({exc})") from None


def _read_zip(file: BinaryIO, size: int, placement: Placement, limits: Limits) -> Any:
    try:
        end = zipfile._EndRecData(file)
        archive = zipfile.ZipFile(file) if end is not None else None
    except _ZIP_ERRORS as exc:
        raise Corrupt(f"its zip directory is damaged ({exc})") from None
    if end is None or archive is None:
        raise Corrupt("its zip directory is missing")
    # the count field may lie; the directory's size bounds the records it can hold (46 bytes each at least)
    if max(end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE] // 46) > limits.max_records:
        raise Refused(f"its zip archive lists more than {limits.max_records:,} records")
    names = archive.namelist()
    if any(n.endswith(("constants.pkl", ".debug_pkl")) or "/code/" in f"/{n}" or n.endswith("model.json")
           for n in names):
        raise Refused("it is a TorchScript archive", advice=_TORCHSCRIPT_ADVICE)
    if any(n.endswith(".data/extern_modules") for n in names):
        raise Refused("it is a torch.package archive, whose loading imports the code it carries",
                      advice="Where you trust it, export a state dict from it and read that")
    for info in archive.infolist():
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            raise Refused(f"its record {info.filename!r} is compressed or encrypted; torch.save writes neither")
        if info.file_size > size:
            raise Corrupt(f"its record {info.filename!r} claims more bytes than the file holds")
    pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pickles) != 1:
        raise Corrupt("it is a zip archive without exactly one <name>/data.pkl record (not a torch.save file)")
    prefix = pickles[0][: -len("data.pkl")]
    swap = _zip_byteorder(archive, prefix, names)
    budget, storages = Budget(size), {}

    def resolve(pid: Any) -> StorageRef:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise Corrupt("a persistent id is not a storage reference")
        _, storage_type, key, location, numel = pid
        dtype = storage_dtype(storage_type)
        nbytes = checked_int(numel, "a storage's element count") * element_size(dtype)
        if not isinstance(key, str) or not _KEY.match(key):
            raise Corrupt(f"a storage key {key!r} is malformed")
        if key not in storages:
            name = f"{prefix}data/{key}"
            if name not in names:
                raise Corrupt(f"its storage record {name!r} is missing")
            data = _zip_record(archive, name)
            if len(data) != nbytes:
                raise Corrupt(f"its storage record {name!r} has {len(data)} bytes, not the {nbytes} it declares")
            budget.take(nbytes)
            storages[key] = StorageRef(placement.storage(fresh_storage(data, dtype, swap), location), dtype)
        ref = storages[key]
        if ref.dtype != dtype or ref.storage.nbytes() != nbytes:
            raise Corrupt(f"storage {key!r} is referred to with two different types or sizes")
        return ref

    graph, _, _ = pickle_vm.parse(_zip_record(archive, pickles[0]), 0, limits.max_objects)
    return Builder(resolve, placement.tensor, limits).build(graph)


def _zip_byteorder(archive: zipfile.ZipFile, prefix: str, names: list[str]) -> bool:
    """Whether the storages need byte-swapping (written on a machine of the other byte order)."""
    name = f"{prefix}byteorder"
    if name not in names:
        return False
    order = _zip_record(archive, name)
    if order not in (b"little", b"big"):
        raise Corrupt(f"its byteorder record says {order[:16]!r}")
    return order.decode() != sys.byteorder


# ----------------------------------------------------------------------------- legacy
def _read_legacy(data: bytes, placement: Placement, limits: Limits) -> Any:
    builder = Builder(_no_storages, placement.tensor, limits)
    pos, header = 0, []
    for _ in range(3):  # magic number, protocol version, system info
        graph, pos, _ = pickle_vm.parse(data, pos, limits.max_objects)
        header.append(builder.build(graph))
    if header[0] != LEGACY_MAGIC or header[1] != LEGACY_PROTOCOL:
        raise Corrupt("it is neither a zip archive nor a legacy torch.save file (its header is not torch's)")
    if not isinstance(header[2], dict) or header[2].get("little_endian") is not True:
        raise Refused("it was written on a big-endian machine in the legacy format, which is not supported")
    graph, pos, persistent = pickle_vm.parse(data, pos, limits.max_objects)
    keys_graph, pos, _ = pickle_vm.parse(data, pos, limits.max_objects)
    keys = builder.build(keys_graph)
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise Corrupt("its list of storage keys is malformed")
    specs = {}  # root key -> (dtype, numel, location)
    for node in persistent:
        pid = builder.build(node.pid)
        if isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage":
            specs[pid[2]] = (storage_dtype(pid[1]), checked_int(pid[4], "a storage's element count"),
                             checked_location(pid[3]))
    roots: dict[str, StorageRef] = {}
    budget = Budget(len(data))
    for key in keys:
        if key not in specs or key in roots:
            raise Corrupt(f"storage key {key!r} is not referred to once by the object")
        dtype, numel, location = specs[key]
        stored = struct.unpack("<q", data[pos:pos + 8])[0] if pos + 8 <= len(data) else -1
        nbytes = numel * element_size(dtype)
        if stored != numel or pos + 8 + nbytes > len(data):
            raise Corrupt(f"storage {key!r} is truncated or its size does not match")
        budget.take(nbytes)
        roots[key] = StorageRef(placement.storage(fresh_storage(data[pos + 8:pos + 8 + nbytes], dtype), location),
                                dtype)
        pos += 8 + nbytes

    def resolve(pid: Any) -> Any:
        if isinstance(pid, tuple) and pid and pid[0] == "module":
            return Skipped("a pickled nn.Module class")
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage" and pid[2] in roots):
            raise Corrupt("a persistent id is not a storage reference of this file")
        root = roots[pid[2]]
        if pid[5] is None:
            return root
        view_key, offset, numel = pid[5]
        start = checked_int(offset, "a storage view's offset") * element_size(root.dtype)
        stop = start + checked_int(numel, "a storage view's size") * element_size(root.dtype)
        if stop > root.storage.nbytes():
            raise Corrupt(f"storage view {view_key!r} reaches past its storage")
        return StorageRef(root.storage[start:stop], root.dtype)

    builder.resolve = resolve
    return builder.build(graph)


def _no_storages(pid: Any) -> Any:
    raise Corrupt("a header pickle refers to a storage")


# ----------------------------------------------------------------------------- tar
def _read_tar(file: BinaryIO, size: int, placement: Placement, limits: Limits) -> Any:
    try:
        archive = tarfile.open(fileobj=file, mode="r:")
        members = {}
        for member in archive.getmembers():
            if member.name not in _TAR_MEMBERS or not member.isreg() or member.name in members:
                kind = "a regular file" if member.isreg() else "not a regular file (a link, FIFO or device)"
                raise Refused(f"its tar member {member.name!r} is {kind}; a torch tar checkpoint has only "
                              f"the regular files {sorted(_TAR_MEMBERS)}")
            if member.size > size:
                raise Corrupt(f"its tar member {member.name!r} claims more bytes than the file holds")
            members[member.name] = member
        if set(members) != _TAR_MEMBERS:
            raise Corrupt(f"its tar members are {sorted(members)}, not {sorted(_TAR_MEMBERS)}")
        data = {name: archive.extractfile(m).read() for name, m in members.items()}
    except tarfile.TarError as exc:
        raise Corrupt(f"its tar archive is damaged ({exc})") from None
    builder = Builder(_no_storages, placement.tensor, limits)
    objects: dict[int, Any] = {}
    _tar_storages(data["storages"], builder, placement, limits, objects, Budget(size))
    _tar_tensors(data["tensors"], builder, limits, objects)

    def resolve(pid: Any) -> Any:
        if isinstance(pid, tuple):
            return Skipped("a pickled nn.Module class")
        key = _tar_key(pid)
        if key not in objects:
            raise Corrupt(f"a persistent id {pid!r} names no tensor of this file")
        return objects[key]

    graph, _, _ = pickle_vm.parse(data["pickle"], 0, limits.max_objects)
    builder.resolve = resolve
    return builder.build(graph)


def _tar_key(value: Any) -> int:
    if type(value) is int or (isinstance(value, str) and value.isdigit() and len(value) < 20):
        return int(value)
    raise Corrupt(f"a tar checkpoint key {value!r} is not a number")


class _Records:
    """Consecutive pickles and raw fields of one tar member."""

    def __init__(self, data: bytes, builder: Builder, limits: Limits) -> None:
        self.data, self.builder, self.limits, self.pos = data, builder, limits, 0

    def value(self) -> Any:
        graph, self.pos, _ = pickle_vm.parse(self.data, self.pos, self.limits.max_objects)
        return self.builder.build(graph)

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise Corrupt("a tar member is truncated")
        self.pos += n
        return self.data[self.pos - n:self.pos]


def _tar_storages(data: bytes, builder: Builder, placement: Placement, limits: Limits, objects: dict,
                  budget: Budget) -> None:
    records = _Records(data, builder, limits)
    for _ in range(checked_int(records.value(), "the number of storages", 0, limits.max_records)):
        key, location, storage_type = _triple(records.value(), "a storage header")
        dtype = storage_dtype(storage_type)
        numel = struct.unpack("<q", records.take(8))[0]
        nbytes = checked_int(numel, "a storage's element count") * element_size(dtype)
        budget.take(nbytes)
        objects[_tar_key(key)] = StorageRef(
            placement.storage(fresh_storage(records.take(nbytes), dtype), checked_location(location)), dtype)
    for view in records.value() or []:
        target, root, offset, numel = _checked_tuple(view, 4, "a storage view")
        base = objects.get(_tar_key(root))
        if not isinstance(base, StorageRef):
            raise Corrupt("a storage view names no storage")
        start = checked_int(offset, "a storage view's offset") * element_size(base.dtype)
        stop = start + checked_int(numel, "a storage view's size") * element_size(base.dtype)
        if stop > base.storage.nbytes():
            raise Corrupt("a storage view reaches past its storage")
        objects[_tar_key(target)] = StorageRef(base.storage[start:stop], base.dtype)


def _tar_tensors(data: bytes, builder: Builder, limits: Limits, objects: dict) -> None:
    records = _Records(data, builder, limits)
    for _ in range(checked_int(records.value(), "the number of tensors", 0, limits.max_records)):
        key, storage_id, _ = _triple(records.value(), "a tensor header")
        ndim = checked_int(struct.unpack("<i", records.take(4))[0], "a tensor's dimensions", 0, 64)
        records.take(4)
        shape = checked_ints(struct.unpack(f"<{ndim}q", records.take(8 * ndim)), "a tensor's size")
        stride = checked_ints(struct.unpack(f"<{ndim}q", records.take(8 * ndim)), "a tensor's stride")
        offset = struct.unpack("<q", records.take(8))[0]
        storage = objects.get(_tar_key(storage_id))
        objects[_tar_key(key)] = rebuild_tensor(storage, offset, shape, stride)


def _triple(value: Any, what: str) -> tuple:
    return _checked_tuple(value, 3, what)


def _checked_tuple(value: Any, length: int, what: str) -> tuple:
    if not isinstance(value, tuple) or len(value) != length:
        raise Corrupt(f"{what} is malformed")
    return value
