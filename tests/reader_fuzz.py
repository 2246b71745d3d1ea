"""Fuzzing the checkpoint reader: mutated real checkpoints and random opcode streams.

Seeds are checkpoints in the formats users hold (a zip and a legacy ``torch.save`` file of a state dict
with numpy values in ``meta``, a tar checkpoint) and pickles the assembler builds from the grammar's,
skipped and hostile names. A mutation flips, replaces, inserts, deletes or truncates bytes of a whole
file or of its ``data.pkl`` alone (re-wrapped in a valid zip, so the pickle parser, not the zip CRC, meets
it). :func:`read_checked` reads one file and returns what went wrong, if anything: an exception that is
not the reader's one-line refusal, or a value that is not plain data.

    python tests/reader_fuzz.py SECONDS WORK_DIR [--memory-gib 3]   # a time-boxed run, one line per finding
"""
from __future__ import annotations

import argparse
import collections
import io
import random
import resource
import signal
import sys
import time
import traceback
import zipfile
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pickle_asm import Asm, tar_checkpoint, torch_zip  # noqa: E402

from nst_det.utils.reader import ReaderError, read_file  # noqa: E402

NAMES = [("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor_v3"),
         ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_qtensor"),
         ("torch._utils", "_rebuild_sparse_tensor"), ("collections", "OrderedDict"), ("collections", "Counter"),
         ("numpy.core.multiarray", "_reconstruct"), ("numpy", "ndarray"), ("numpy", "dtype"),
         ("numpy.core.multiarray", "scalar"), ("torch", "Size"), ("torch", "FloatStorage"), ("torch", "float32"),
         ("builtins", "set"), ("builtins", "bytearray"), ("_codecs", "encode"), ("builtins", "getattr"),
         ("mmengine.logging.history_buffer", "HistoryBuffer"), ("copyreg", "_reconstructor"), ("os", "system"),
         ("builtins", "eval"), ("torch.serialization", "_get_layout")]
_ALLOWED_LEAVES = (type(None), bool, int, float, complex, str, bytes, bytearray, slice, torch.Tensor, np.ndarray,
                   np.generic, np.dtype, torch.dtype, torch.device, torch.layout, torch.memory_format, torch.qscheme,
                   torch.UntypedStorage, torch.storage.TypedStorage)


def seed_files(folder: Path) -> dict[str, bytes]:
    """The bytes of real checkpoints to mutate (written through ``folder``)."""
    torch.manual_seed(0)
    state_dict = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)).state_dict()
    checkpoint = {"state_dict": state_dict, "meta": {"epoch": 3, "lr": np.float32(0.01), "mean": np.arange(3.0),
                                                     "classes": ("a", "b"), "hist": collections.Counter("ab")},
                  "optimizer": {"state": {0: {"momentum_buffer": torch.ones(2)}}, "param_groups": [{"lr": 0.1}]}}
    seeds = {}
    for name, legacy in (("zip", False), ("legacy", True)):
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer, _use_new_zipfile_serialization=not legacy)
        seeds[name] = buffer.getvalue()
    seeds["tar"] = tar_checkpoint(folder / "seed.tar", [1.0, 2.0, 3.0]).read_bytes()
    return seeds


def data_pkl(zip_bytes: bytes) -> tuple[bytes, dict[str, bytes]]:
    """The main pickle of a torch zip and its storage records."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        names = archive.namelist()
        main = next(n for n in names if n.endswith("/data.pkl"))
        prefix = main[: -len("data.pkl")]
        records = {n[len(prefix) + 5:]: archive.read(n) for n in names if n.startswith(prefix + "data/")}
        return archive.read(main), records


def mutate(data: bytes, rng: random.Random, rounds: int = 3) -> bytes:
    """Flip bits, replace, insert or delete bytes, or truncate, ``rounds`` times."""
    out = bytearray(data)
    for _ in range(rounds):
        if not out:
            break
        at, kind = rng.randrange(len(out)), rng.randrange(5)
        if kind == 0:
            out[at] ^= 1 << rng.randrange(8)
        elif kind == 1:
            out[at] = rng.randrange(256)
        elif kind == 2:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif kind == 3:
            del out[at:at + rng.randint(1, 8)]
        else:
            del out[at:]
    return bytes(out)


def random_pickle(rng: random.Random, length: int = 40) -> bytes:
    """A random opcode stream over the grammar's, skipped and hostile names (rarely a valid pickle)."""
    asm = Asm(rng.choice([0, 2, 3, 4]))
    for _ in range(length):
        choice = rng.randrange(12)
        if choice == 0:
            asm.glob(*rng.choice(NAMES))
        elif choice == 1:
            asm.int(rng.choice([0, 1, 3, 255, 1 << 20, 1 << 40, -1]))
        elif choice == 2:
            asm.text(rng.choice(["storage", "0", "cpu", "f4", "<", "w"]))
        elif choice == 3:
            asm.bytes(bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 4, 16]))))
        else:
            asm.op(rng.choice([b"(", b"t", b"R", b"b", b"]", b"}", b"e", b"u", b"s", b"a", b"\x85", b"\x86",
                               b"\x87", b")", b"Q", b"0", b"2", b"\x81", b"\x94", b"N", b"\x88", b"\x8f", b"\x90"]))
    return asm.stop()


def check_plain(value: Any) -> Optional[str]:
    """Why ``value`` is not plain data (iteratively), or ``None``."""
    stack, seen = [value], set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            if type(item) not in (dict, collections.OrderedDict):
                return f"a {type(item).__name__} that is not a plain dict"
            if type(item) is collections.OrderedDict and set(vars(item)) - {"_metadata"}:
                return f"an OrderedDict with attributes {sorted(vars(item))}"
            stack.extend(item.keys())
            stack.extend(item.values())
        elif type(item) in (list, tuple, set, frozenset, torch.Size):
            stack.extend(item)
        elif not isinstance(item, _ALLOWED_LEAVES):
            return f"a {type(item).__module__}.{type(item).__qualname__} in the result"
    return None


def read_checked(path: Path) -> Optional[str]:
    """Read ``path``; a finding (unexpected exception or non-plain value) as text, else ``None``."""
    try:
        value, _ = read_file(path)
    except ReaderError as exc:
        return None if "\n" not in str(exc) else f"a refusal of several lines: {exc!r}"
    except Exception:  # noqa: BLE001  the finding
        return traceback.format_exc()[-2500:]
    return check_plain(value)


def fuzz_case(rng: random.Random, seeds: dict[str, bytes], folder: Path) -> Path:
    """One fuzzed file in ``folder``."""
    path = folder / "case.pth"
    kind = rng.randrange(4)
    if kind == 0:
        path.write_bytes(mutate(rng.choice(list(seeds.values())), rng, rng.randint(1, 4)))
    elif kind == 1:
        pickle_bytes, records = data_pkl(seeds["zip"])
        torch_zip(path, mutate(pickle_bytes, rng, rng.randint(1, 4)), records)
    elif kind == 2:
        torch_zip(path, random_pickle(rng, rng.randint(5, 80)), data_pkl(seeds["zip"])[1])
    else:
        path.write_bytes(random_pickle(rng, rng.randint(5, 80)))
    return path


def _timeout(signum, frame):
    raise TimeoutError("a read took longer than 20 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seconds", type=float)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--memory-gib", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    mapped = next(int(line.split()[1]) * 1024 for line in Path("/proc/self/status").read_text().splitlines()
                  if line.startswith("VmSize:"))
    limit = mapped + int(args.memory_gib * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGALRM, _timeout)
    seeds, rng, cases, findings = seed_files(args.folder), random.Random(args.seed), 0, 0
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        path = fuzz_case(rng, seeds, args.folder)
        signal.alarm(20)
        finding = read_checked(path)
        signal.alarm(0)
        cases += 1
        if finding:
            findings += 1
            saved = args.folder / f"finding_{findings}.pth"
            path.rename(saved)
            print(f"FINDING {saved}: {finding}", flush=True)
    print(f"fuzzed {cases} files in {args.seconds:.0f} s, {findings} findings", flush=True)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
