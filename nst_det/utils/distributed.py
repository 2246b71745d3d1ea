"""Work that is the same on every rank, done once: rank 0 computes, the others wait and receive it.

Scanning an ImageNet folder or checking a COCO annotation file gives every rank the same answer; on
8 GPUs x N nodes doing it on each rank multiplies the file-system load (NFS) and the memory by the
number of processes. :func:`share_from_rank0` runs a function on rank 0 alone while the other ranks
wait in a broadcast (a barrier that also carries the result), then every rank returns the same value.
A failure on rank 0 stops every rank: rank 0 raises its own error, the others a
:class:`RankZeroError` (an :class:`NSTDetError` the tools exit with but do not print again).

torch.distributed only (no mmengine): outside an initialised process group, or with one process,
the function simply runs.
"""
from __future__ import annotations

import hashlib
from typing import Callable, Optional, TypeVar

import torch
import torch.distributed as dist

from nst_det.utils.errors import NSTDetError

T = TypeVar("T")


class RankZeroError(NSTDetError):
    """Raised on ranks > 0 when the work shared from rank 0 failed there (rank 0 reports it)."""

    reported_elsewhere = True


def distributed_rank() -> tuple[int, int]:
    """``(rank, world size)`` of the initialised process group, ``(0, 1)`` without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def share_from_rank0(fn: Callable[[], T], what: Optional[str] = None) -> T:
    """``fn()`` computed on rank 0 only and returned on every rank (it must pickle).

    With several ranks and ``what``, rank 0 prints ``"<what>: on rank 0 of <world size>, the other ranks
    wait"`` first.

    Raises:
        On rank 0 whatever ``fn`` raised; on the other ranks :class:`RankZeroError` with its message.
    """
    rank, world = distributed_rank()
    if world == 1:
        return fn()
    box: list = [None]
    failure = None
    if rank == 0:
        if what:
            print(f"{what}: on rank 0 of {world}, the other ranks wait", flush=True)
        try:
            box[0] = ("ok", fn())
        except BaseException as exc:  # every rank must leave the broadcast, whatever happened here
            failure = exc
            message = str(exc) if isinstance(exc, NSTDetError) else f"{type(exc).__name__}: {exc}"
            box[0] = ("failed", message)
    dist.broadcast_object_list(box, src=0)
    if failure is not None:
        raise failure
    status, value = box[0]
    if status == "failed":
        raise RankZeroError(value)
    return value


def parameter_digest(module: torch.nn.Module) -> str:
    """A short SHA-256 of ``module``'s parameters (names, dtypes, shapes, values): equal on every rank exactly
    when DDP kept the ranks in step. Buffers are left out: BatchNorm's running statistics follow each
    rank's own batches (DDP without SyncBN; rank 0's are saved)."""
    digest = hashlib.sha256()
    for name, tensor in module.named_parameters():
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{name} {value.dtype} {tuple(value.shape)}".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]
