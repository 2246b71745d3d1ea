"""Read checkpoint files at every entry point of the tools, under a time and an address-space limit.

    python tests/reader_harness.py MANIFEST.json RESULTS.jsonl [--memory-gib 3] [--seconds 60]

``MANIFEST.json`` lists ``{"name", "path", "marker"}``; ``name`` is a key of
``reader_attacks.ATTACKS`` (its ``check`` runs on what ``read_checkpoint`` returns) or any other label.
For each file and entry point (``checkpoint_entry_points.ENTRY_POINTS`` and ``TOOL_COMMANDS``) one JSON
line records the outcome — ``loaded``, ``refused`` (the one-line message), ``error`` (any other
exception, with its traceback), ``timeout`` or ``memory`` — and whether the file's marker appeared.
A ``{"begin": ...}`` line precedes each read, so a crash (a signal) names the file and entry it hit;
``{"done": true}`` ends a complete run. The address-space limit is what the process has mapped once
everything is imported, plus ``--memory-gib``.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
import signal
import sys
import tempfile
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from checkpoint_entry_points import ENTRY_POINTS, TOOL_COMMANDS  # noqa: E402
from reader_attacks import ATTACKS  # noqa: E402

from nst_det.utils.errors import NSTDetError  # noqa: E402


def _mapped_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def _timeout(signum, frame):
    raise TimeoutError


def read_once(entry, path: Path, scratch: Path) -> tuple[str, str, object]:
    """``(outcome, message, value)`` of one entry point on one file."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            value = entry(path, scratch)
    except NSTDetError as exc:
        return "refused", str(exc), None
    except TimeoutError:
        return "timeout", "", None
    except MemoryError:
        return "memory", traceback.format_exc()[-2000:], None
    except BaseException:  # noqa: BLE001  anything else is the finding
        return "error", traceback.format_exc()[-3000:], None
    lines = [line for line in stderr.getvalue().splitlines() if line.strip()]
    if value == 1 and lines and lines[-1].startswith("error: "):  # a tool's command line refused it
        return "refused", lines[-1], None
    return ("loaded" if value in (0, None) or not isinstance(value, int) else "error"), "\n".join(lines[-3:]), value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifest")
    parser.add_argument("results")
    parser.add_argument("--memory-gib", type=float, default=3.0)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--entries", nargs="*", help="entry points to use (default: all)")
    args = parser.parse_args()
    entries = {**ENTRY_POINTS, **TOOL_COMMANDS}
    if args.entries:
        entries = {name: entries[name] for name in args.entries}
    limit = _mapped_bytes() + int(args.memory_gib * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGALRM, _timeout)
    with open(args.results, "w") as out:
        def emit(record: dict) -> None:
            out.write(json.dumps(record) + "\n")
            out.flush()

        for item in json.loads(Path(args.manifest).read_text()):
            for name, entry in entries.items():
                emit({"begin": [item["name"], name]})
                with tempfile.TemporaryDirectory() as scratch:
                    signal.alarm(args.seconds)
                    outcome, message, value = read_once(entry, Path(item["path"]), Path(scratch))
                    check = ""
                    attack = ATTACKS.get(item["name"])
                    if name == "read_checkpoint" and outcome == "loaded" and attack is not None and attack.check:
                        try:
                            attack.check(value)
                        except Exception:  # noqa: BLE001  reported, not raised
                            check = traceback.format_exc()[-1500:]
                    signal.alarm(0)
                    del value
                emit({"name": item["name"], "entry": name, "outcome": outcome, "message": message,
                      "check": check, "marker": Path(item["marker"]).exists()})
        emit({"done": True})
    return 0


if __name__ == "__main__":
    sys.exit(main())
