"""The graph :mod:`~nst_det.utils.reader.pickle_vm` builds: what a pickle says, with nothing run.

Scalars (``int``, ``float``, ``str``, ``bytes``, ``bytearray``, ``bool``, ``None``) stand for
themselves; everything else is a :class:`Node`.
"""
from __future__ import annotations

from typing import Any


class Node:
    """A value of the pickle that is not a scalar."""

    __slots__ = ()


class Global(Node):
    """``module.name`` as the pickle writes it; never resolved."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    @property
    def qualname(self) -> str:
        return f"{self.module}.{self.name}"


class ListNode(Node):
    __slots__ = ("items",)

    def __init__(self, items: list) -> None:
        self.items = items


class TupleNode(Node):
    __slots__ = ("items",)

    def __init__(self, items: tuple) -> None:
        self.items = items


class DictNode(Node):
    __slots__ = ("pairs",)

    def __init__(self, pairs: list) -> None:
        self.pairs = pairs  # [(key, value), ...] in pickle order


class SetNode(Node):
    __slots__ = ("items", "frozen")

    def __init__(self, items: list, frozen: bool) -> None:
        self.items, self.frozen = items, frozen


_UNSET = object()


class Call(Node):
    """``func(*args, **kwargs)`` as the pickle asks for it, then ``BUILD``'s state and added items."""

    __slots__ = ("func", "args", "kwargs", "state", "items", "pairs")

    def __init__(self, func: Any, args: Any, kwargs: Any = None) -> None:
        self.func, self.args, self.kwargs = func, args, kwargs
        self.state: Any = _UNSET
        self.items: list = []   # APPEND(S) / ADDITEMS
        self.pairs: list = []   # SETITEM(S)

    @property
    def has_state(self) -> bool:
        return self.state is not _UNSET


class Persistent(Node):
    """A persistent id (``PERSID``/``BINPERSID``): in torch files, a storage reference."""

    __slots__ = ("pid",)

    def __init__(self, pid: Any) -> None:
        self.pid = pid


def children(node: Node) -> list:
    """The values a node refers to (for a :class:`Call`: everything but the callee)."""
    if isinstance(node, (ListNode, TupleNode, SetNode)):
        return list(node.items)
    if isinstance(node, DictNode):
        return [v for pair in node.pairs for v in pair]
    if isinstance(node, Persistent):
        return [node.pid]
    if isinstance(node, Call):
        out = [node.args] + ([node.kwargs] if node.kwargs is not None else [])
        out += ([node.state] if node.has_state else []) + node.items
        return out + [v for pair in node.pairs for v in pair]
    return []
