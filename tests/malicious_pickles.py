"""Checkpoints that would run code when unpickled: each one, read by plain ``pickle``, creates a marker file.

:data:`PAYLOADS` maps a pattern name to a function ``(marker, tmp_dir) -> object`` whose pickling
carries the payload; :func:`write_checkpoint` puts it inside an otherwise plausible checkpoint. The
patterns are the ones seen in the wild and in pickle-scanner test suites: direct calls of
``os.system``/``subprocess``/``eval``/``exec``/``open``, ``getattr`` chains that reach a callable,
``torch.load``/``pickle.loads`` of an embedded payload, ``importlib`` and plain imports of a module
with side effects, and protocol-0 ``INST`` opcodes.
"""
from __future__ import annotations

import builtins
import contextlib
import functools
import importlib
import os
import pathlib
import pickle
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import torch


class Reduce:
    """Pickles as ``func(*args)``."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)

    def __call__(self, *args: Any) -> Any:  # pickle requires reduce's func to be callable
        raise AssertionError("only for pickling")


def _side_effect_module(marker: Path, tmp_dir: Path) -> str:
    """A module in ``tmp_dir`` whose import creates ``marker`` (``tmp_dir`` must be on ``sys.path``).

    It is imported once here, with the side effect switched off, so that its ``Thing`` pickles as a
    reference (pickle checks that a global resolves); it is then dropped from ``sys.modules``.
    """
    name = f"evil_import_{uuid.uuid4().hex[:8]}"
    (tmp_dir / f"{name}.py").write_text(
        "import os\n"
        f"if os.environ.get('MALICIOUS_PICKLES_WRITING') != '1':\n    open({str(marker)!r}, 'w').close()\n"
        "class Thing:\n    pass\n")
    return name


def _imported_thing(marker: Path, tmp_dir: Path) -> Any:
    """A ``Thing`` of a side-effect module, imported quietly (see :func:`payload_bytes`)."""
    return importlib.import_module(_side_effect_module(marker, tmp_dir)).Thing()


@contextlib.contextmanager
def _quiet_imports() -> Iterator[None]:
    """While pickling: side-effect modules import without effect, and are forgotten afterwards."""
    before = set(sys.modules)
    os.environ["MALICIOUS_PICKLES_WRITING"] = "1"
    try:
        yield
    finally:
        del os.environ["MALICIOUS_PICKLES_WRITING"]
        for name in set(sys.modules) - before:
            if name.startswith("evil_import_"):
                del sys.modules[name]


def payload_bytes(pattern: str, marker: Path, tmp_dir: Path) -> bytes:
    """The pickle of the payload of ``pattern`` alone."""
    with _quiet_imports():
        return pickle.dumps(PAYLOADS[pattern](marker, tmp_dir))


def _inner_pickle(marker: Path, tmp_dir: Path) -> Path:
    inner = tmp_dir / f"inner_{uuid.uuid4().hex[:8]}.pkl"
    inner.write_bytes(pickle.dumps(Reduce(os.system, f"touch {marker}")))
    return inner


PAYLOADS: dict[str, Callable[[Path, Path], Any]] = {
    "os.system": lambda m, d: Reduce(os.system, f"touch {m}"),  # pickled as posix.system
    "subprocess.Popen": lambda m, d: Reduce(subprocess.Popen, ["touch", str(m)]),
    "builtins.eval": lambda m, d: Reduce(builtins.eval, f"open({str(m)!r}, 'w')"),
    "builtins.exec": lambda m, d: Reduce(builtins.exec, f"open({str(m)!r}, 'w').close()"),
    "builtins.open": lambda m, d: Reduce(builtins.open, str(m), "w"),
    # getattr(Path(marker), 'touch')() : a callable reached through getattr, then called
    "getattr chain": lambda m, d: Reduce(Reduce(builtins.getattr, Reduce(pathlib.Path, str(m)), "touch")),
    # the attacker's own argument: torch.load of a full pickle
    "torch.load of a payload": lambda m, d: Reduce(functools.partial(torch.load, weights_only=False),
                                                   str(_inner_pickle(m, d))),
    "pickle.loads of a payload": lambda m, d: Reduce(pickle.loads, _inner_pickle(m, d).read_bytes()),
    "importlib.import_module": lambda m, d: Reduce(importlib.import_module, _side_effect_module(m, d)),
    "import of a module": _imported_thing,
}
# patterns whose globals the reader refuses outright (the rest are skipped or refused when called)
HOSTILE = {"os.system", "subprocess.Popen", "builtins.eval", "builtins.exec", "builtins.open",
           "torch.load of a payload", "pickle.loads of a payload", "importlib.import_module"}


def write_checkpoint(path: Path, pattern: str, marker: Path, where: str = "meta") -> Path:
    """A ``.pth`` with real weights and the payload of ``pattern`` under ``where`` (``meta``/``state_dict``).

    The payload's module (if any) is written beside ``path``.
    """
    with _quiet_imports():
        payload = PAYLOADS[pattern](marker, path.parent)
        weights = {"conv1.weight": torch.zeros(1)}
        checkpoint = {"state_dict": {**weights, "evil": payload} if where == "state_dict" else weights,
                      "meta": {"epoch": 1, "evil": payload} if where == "meta" else {"epoch": 1}}
        torch.save(checkpoint, path)
    return path


RAW_PAYLOADS: dict[str, Callable[[Path], bytes]] = {
    # protocol 0: GLOBAL 'os system' + REDUCE, and the INST opcode (find class, call it) on it
    "raw GLOBAL os.system": lambda m: b"cos\nsystem\n(S'touch " + str(m).encode() + b"'\ntR.",
    "raw INST os.system": lambda m: b"(S'touch " + str(m).encode() + b"'\nios\nsystem\n.",
}
