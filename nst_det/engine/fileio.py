"""mmengine file backend ``'atomic_local'``: atomic checkpoint writes.

Configs set ``default_hooks.checkpoint.backend_args=dict(backend='atomic_local')``, so mmengine's own
checkpoint writes (``CheckpointHook``: ``epoch_N.pth`` and ``last_checkpoint``) go to a temporary
file that is fsynced and renamed into place. A write that fails (disk full, quota, file size limit)
removes its temporary file and stops the run with one line naming the file and the last complete
checkpoint.
"""
from __future__ import annotations

from pathlib import Path

from mmengine.fileio import LocalBackend, register_backend

from nst_det.utils.checkpoint import PathLike, atomic_write_bytes, last_complete_checkpoint
from nst_det.utils.errors import NSTDetError


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend with atomic ``put``/``put_text`` (temporary file + rename)."""

    def put(self, obj: bytes, filepath: PathLike) -> None:
        try:
            atomic_write_bytes(obj, filepath)
        except NSTDetError as exc:
            kept = last_complete_checkpoint(Path(filepath).parent)
            raise NSTDetError(f"{exc}. Training stopped; last complete checkpoint: {kept}") from None

    def put_text(self, obj: str, filepath: PathLike, encoding: str = "utf-8") -> None:
        atomic_write_bytes(obj.encode(encoding), filepath)


register_backend("atomic_local", AtomicLocalBackend, force=True)
