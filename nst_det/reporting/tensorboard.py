"""TensorBoard event files read as ``scalars.json`` records, with the standard library alone.

An event file (``events.out.tfevents.*``, what mmengine's ``TensorboardVisBackend`` and
``torch.utils.tensorboard`` write) is a TFRecord stream: per record a little-endian ``uint64`` length, a
``uint32`` CRC of it, the payload, a ``uint32`` CRC of the payload. Each payload is an ``Event`` protobuf:
``wall_time`` (1, double), ``step`` (2, int64), ``summary`` (5) holding ``Value``\\s of ``tag`` (1) and
either ``simple_value`` (2, float) or a ``tensor`` (8) with ``float_val`` (5) / ``double_val`` (6). The
few protobuf wire types needed are decoded here, so neither ``tensorboard`` nor ``protobuf`` is required.
Non-scalar summaries (the config text mmengine adds, images) are skipped.

mmengine writes one ``add_scalars`` call as consecutive events of one step; :func:`read_event_scalars`
joins them back into the records ``scalars.json`` holds: a record ends where the step changes, where a tag
repeats, or where a validation metric (a tag with ``/``, e.g. ``pascal_voc/mAP``) follows training scalars.
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Iterator, Optional, Union

from nst_det.utils.errors import NSTDetError

EVENTS_PATTERN = "events.out.tfevents.*"


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes) -> Iterator[tuple[int, int, Union[int, bytes]]]:
    """``(field number, wire type, value)`` of a protobuf message: varints as ints, the rest as bytes."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos > len(data):
            raise ValueError("truncated field")
        yield number, wire, value


def _tensor_scalar(data: bytes) -> Optional[float]:
    """The one number of a ``TensorProto`` holding a scalar float/double, else ``None``."""
    for number, _, value in _fields(data):
        if number == 5:  # float_val: packed (wire 2) or not (wire 5)
            return struct.unpack("<f", value[:4])[0]
        if number == 6:  # double_val
            return struct.unpack("<d", value[:8])[0]
    return None


def _scalars(summary: bytes) -> Iterator[tuple[str, float]]:
    for number, _, value in _fields(summary):
        if number != 1:
            continue
        tag, number_value = None, None
        for field, _, item in _fields(value):
            if field == 1:
                tag = item.decode("utf-8", "replace")
            elif field == 2:
                number_value = struct.unpack("<f", item)[0]
            elif field == 8:
                number_value = _tensor_scalar(item)
        if tag is not None and number_value is not None:
            yield tag, number_value


def read_events(path: Union[str, Path]) -> Iterator[tuple[int, str, float]]:
    """``(step, tag, value)`` of every scalar in an event file, in file order (a cut-off last record, as of
    a run being written, is ignored)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NSTDetError(f"cannot read {path}: {exc.strerror or exc}") from None
    pos = 0
    while pos + 12 <= len(data):
        (length,) = struct.unpack("<Q", data[pos:pos + 8])
        end = pos + 12 + length + 4
        if end > len(data):
            break
        payload = data[pos + 12:pos + 12 + length]
        pos = end
        try:
            step, summary = 0, None
            for number, _, value in _fields(payload):
                if number == 2:
                    step = value
                elif number == 5:
                    summary = value
            if summary is not None:
                for tag, value in _scalars(summary):
                    yield step, tag, value
        except (ValueError, struct.error) as exc:
            raise NSTDetError(f"{path} is not a TensorBoard event file ({exc})") from None


def _is_metric(tag: str) -> bool:
    return "/" in tag


def read_event_scalars(path: Union[str, Path]) -> list[dict]:
    """An event file's scalars as the records mmengine's ``scalars.json`` holds (``step`` included)."""
    records: list[dict] = []
    current: Optional[dict] = None
    for step, tag, value in read_events(path):
        is_train = current is not None and ("iter" in current or any(k.startswith(("loss", "lr")) for k in current))
        if current is None or current["step"] != step or tag in current or (_is_metric(tag) and is_train):
            current = {"step": step}
            records.append(current)
        current[tag] = value
    return records
