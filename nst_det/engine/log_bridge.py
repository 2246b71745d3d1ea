"""The library's log lines in the run's log: the ``nst_det`` loggers of Python's ``logging`` -> mmengine's.

Modules below the engine need no mmengine, so they log through ``logging.getLogger(__name__)`` (e.g.
:func:`~nst_det.utils.checkpoint.read_checkpoint` names the objects it skipped). Importing :mod:`nst_det.engine`
sends those records, from INFO up, to mmengine's current logger (``print_log(..., logger='current')``): the
console and the run's log file, with mmengine's own lines, on the rank that logged them.
"""
from __future__ import annotations

import logging

from mmengine.logging import print_log

PACKAGE_LOGGER = "nst_det"


class CurrentLoggerHandler(logging.Handler):
    """Hand each record to mmengine's current logger at the record's level."""

    def emit(self, record: logging.LogRecord) -> None:
        print_log(record.getMessage(), logger="current", level=record.levelno)


def route_to_current_logger() -> None:
    """Route ``logging.getLogger('nst_det')`` and its children to :class:`CurrentLoggerHandler` (idempotent); the
    records do not also reach the root logger's handlers (no line twice)."""
    logger = logging.getLogger(PACKAGE_LOGGER)
    if not any(isinstance(handler, CurrentLoggerHandler) for handler in logger.handlers):
        logger.addHandler(CurrentLoggerHandler())
    logger.setLevel(logging.INFO)
    logger.propagate = False


route_to_current_logger()
