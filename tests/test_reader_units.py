"""The reader's parts: the pickle interpreter against ``pickle`` itself, the name policy, budgets, fresh memory."""
from __future__ import annotations

import pickle
import struct
import zipfile

import numpy as np
import pytest
import torch
from pickle_asm import Asm, torch_zip

from nst_det.utils.reader import Limits, Refused, read_file
from nst_det.utils.reader.build import Builder
from nst_det.utils.reader.names import hostile_reason
from nst_det.utils.reader.pickle_vm import parse

SHARED = [1, 2]
PLAIN = {"ints": [0, 1, 255, 256, 65535, 65536, -1, 2**31, -(2**31) - 1, 2**100, -(2**70)],
         "floats": [0.5, -1e300, float("inf")], "text": ["", "é", "a\nb", "x" * 300], "bytes": [b"", b"\0\xff" * 200],
         "bytearray": bytearray(b"ab"), "tuples": [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)],
         "sets": [set(), {1, 2}, frozenset(), frozenset({"a"})], "nested": {"a": {"b": [{"c": None}]}},
         "bools": [True, False, None], "shared": [SHARED, SHARED], "complex": 1 + 2j, "slice": slice(1, None, 2)}


@pytest.mark.parametrize("protocol", range(6))
def test_plain_data_reads_as_pickle_reads_it(protocol):
    data = pickle.dumps(PLAIN, protocol=protocol)
    graph, end, _ = parse(data)
    value = Builder(None, None, Limits()).build(graph)
    assert end == len(data) and value == pickle.loads(data)
    assert value["shared"][0] is value["shared"][1]  # memoized references stay shared


@pytest.mark.parametrize("module, name", [
    ("os", "system"), ("posix", "system"), ("subprocess", "Popen"), ("builtins", "eval"), ("__builtin__", "eval"),
    ("builtins", "exec"), ("builtins", "open"), ("builtins", "__import__"), ("builtins", "print"),
    ("_operator", "attrgetter"), ("operator", "methodcaller"), ("functools", "partial"), ("types", "FunctionType"),
    ("types", "CodeType"), ("importlib", "import_module"), ("pickle", "loads"), ("_pickle", "loads"),
    ("torch", "load"), ("torch", "from_file"), ("torch.serialization", "load"), ("torch.jit", "load"),
    ("torch._C", "_load_for_lite_interpreter"), ("numpy", "load"), ("numpy.lib._npyio_impl", "load"),
    ("numpy.lib.format", "read_array"), ("collections", "os.system"), ("torch", "nn.Module"),
    ("mylib", "__reduce__"), ("joblib", "load"), ("webbrowser", "open"), ("copyreg", "_reconstructor.x"),
])
def test_hostile_names_are_refused(module, name):
    assert hostile_reason(module, name)


@pytest.mark.parametrize("module, name", [
    ("mmengine.logging.history_buffer", "HistoryBuffer"), ("builtins", "getattr"), ("torch.nn.modules.conv", "Conv2d"),
    ("numpy.random._pickle", "__randomstate_ctor"), ("mylib.models", "Thing"), ("argparse", "Namespace"),
    ("torch._utils", "_rebuild_tensor_v2"), ("collections", "OrderedDict"), ("__builtin__", "set"),
    ("copy_reg", "_reconstructor"), ("numpy.core.multiarray", "_reconstruct"),
])
def test_data_and_skippable_names_are_not_hostile(module, name):
    assert hostile_reason(module, name) is None


def test_an_array_and_the_tensor_made_from_it_share_no_memory(tmp_path):
    array = np.arange(4, dtype=np.float32)
    torch.save({"array": array, "tensor": torch._utils._rebuild_device_tensor_from_numpy(array, torch.float32,
                                                                                         "cpu", False)},
               tmp_path / "f.pth")
    value, _ = read_file(tmp_path / "f.pth")
    value["array"][0] = 100.0
    assert value["tensor"][0] == 0.0


def test_storage_memory_is_fresh_and_views_share_it(tmp_path):
    base = torch.arange(6.0)
    torch.save({"a": base, "b": base[2:]}, tmp_path / "f.pth")
    value, _ = read_file(tmp_path / "f.pth")
    value["a"][3] = -1.0
    assert value["b"][1] == -1.0 and base[3] == 3.0


def test_budgets_refuse_in_one_line(tmp_path):
    path = torch_zip(tmp_path / "records.pth", Asm().empty_dict().stop(), {str(i): b"" for i in range(20)})
    with pytest.raises(Refused, match="more than 10 records"):
        read_file(path, limits=Limits(max_records=10))
    deep = torch_zip(tmp_path / "deep.pth", Asm().raw(b"]" * 30 + b"a" * 29).stop())
    nested: list = []
    for _ in range(29):
        nested = [nested]
    assert read_file(deep)[0] == nested  # 30 levels: within the default budget
    with pytest.raises(Refused, match="deeper than 10 levels"):
        read_file(deep, limits=Limits(max_depth=10))
    with pytest.raises(Refused, match="more than 20 objects"):
        read_file(deep, limits=Limits(max_objects=20))
    three_references = Asm().empty_list().put(0).pop().mark().get(0).get(0).get(0).raw(b"l").stop()
    wide = torch_zip(tmp_path / "wide.pth", three_references)
    with pytest.raises(Refused, match="more than 3 values when walked as a tree"):
        read_file(wide, limits=Limits(max_tree_nodes=3))


def test_a_zip_directory_that_understates_its_records_is_still_bounded(tmp_path):
    path = torch_zip(tmp_path / "records.pth", Asm().empty_dict().stop(), {str(i): b"" for i in range(40)})
    data = bytearray(path.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    data[end + 8:end + 12] = struct.pack("<HH", 1, 1)  # the count fields claim one record
    path.write_bytes(bytes(data))
    assert len(zipfile.ZipFile(path).namelist()) > 40  # zipfile itself reads them all
    with pytest.raises(Refused, match="more than 10 records"):
        read_file(path, limits=Limits(max_records=10))


def test_map_location_forms(tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "f.pth")
    seen = []
    for location in ("cpu", torch.device("cpu"), {"cpu": "cpu"}, None,
                     lambda storage, where: seen.append(where) or storage):
        value, _ = read_file(tmp_path / "f.pth", map_location=location)
        assert value["w"].device.type == "cpu"
    assert seen == ["cpu"]
