"""What the reader raises. :func:`nst_det.utils.checkpoint.read_checkpoint` turns each into one line
naming the file (:class:`~nst_det.utils.errors.NSTDetError`)."""
from __future__ import annotations

from typing import Optional


class ReaderError(Exception):
    """The file is not read. ``advice`` (optional) replaces the default advice in the user's message."""

    def __init__(self, message: str, advice: Optional[str] = None) -> None:
        super().__init__(message)
        self.advice = advice


class Hostile(ReaderError):
    """The file names a global that only an attack needs (``qualname``), for ``reason``."""

    def __init__(self, qualname: str, reason: str) -> None:
        super().__init__(f"{qualname}: {reason}")
        self.qualname, self.reason = qualname, reason


class Refused(ReaderError):
    """Well-formed, but not data the reader takes (code, TorchScript, over a budget, an odd archive member)."""


class Corrupt(ReaderError):
    """Truncated or malformed: not a readable checkpoint."""
