"""Interpret the graph of a pickle: fresh plain containers, tensors and numpy values; markers for the rest.

:class:`Builder` walks the graph of :mod:`~nst_det.utils.reader.pickle_vm` iteratively (children
first, each node once, whatever its number of references), refusing cycles, nesting deeper than the
budget, and graphs that would expand past the budget when walked as a tree (so no later recursive walk,
``copy.deepcopy`` or ``torch.save`` of the result can hang or overflow). Containers become plain
``dict``/``OrderedDict``/``list``/``tuple``/``set``/``frozenset``; the only attribute kept is an
``OrderedDict``'s ``_metadata`` (a state dict's module versions). A call of a name outside the grammar
is a :class:`~nst_det.utils.reader.values.Skipped` marker whose arguments are never looked at.

:func:`drop_skipped` then removes every marker (dict entries whose key or value is one, sequence and
set items) and says where each was.
"""
from __future__ import annotations

import functools
from collections import OrderedDict
from typing import Any, Callable

import torch

from nst_det.utils.reader import arrays, tensors
from nst_det.utils.reader.errors import Corrupt, Refused
from nst_det.utils.reader.names import DTYPES, MEMORY_FORMATS, QSCHEMES, grammar_kind
from nst_det.utils.reader.nodes import Call, DictNode, Global, ListNode, Node, Persistent, SetNode, TupleNode, children
from nst_det.utils.reader.values import Limits, NameRef, Skipped, StorageRef

Resolve = Callable[[Any], Any]  # a persistent id's value -> what it stands for (a StorageRef, a tensor)
_TENSOR_KINDS = ("tensor", "tensor_v2", "tensor_v3", "parameter", "qtensor", "sparse_tensor", "meta_tensor",
                 "tensor_from_numpy", "tensor_from_tensor")
_TAKES_ITEMS = ("ordered_dict", "default_dict", "counter")  # kinds that SETITEMS / BUILD may follow
_GRAY = object()


class Builder:
    """Interprets pickle graphs; one instance per file (storages and memo shared by its pickles)."""

    def __init__(self, resolve: Resolve, place: tensors.Place, limits: Limits) -> None:
        self.resolve, self.limits = resolve, limits
        self.values: dict[int, Any] = {}
        self.weights: dict[int, tuple[int, int]] = {}  # id(node) -> (tree size, depth)
        self.keep: list[Node] = []  # nodes interpreted, kept alive so their ids stay theirs
        calls: dict[str, Callable[..., Any]] = {
            "tensor": tensors.rebuild_tensor, "tensor_v2": tensors.rebuild_tensor_v2,
            "tensor_v3": tensors.rebuild_tensor_v3, "parameter": tensors.rebuild_parameter,
            "qtensor": tensors.rebuild_qtensor, "sparse_tensor": tensors.rebuild_sparse_tensor,
            "meta_tensor": tensors.rebuild_meta_tensor,
            "tensor_from_numpy": functools.partial(tensors.rebuild_from_numpy, place),
            "tensor_from_tensor": functools.partial(tensors.rebuild_from_cpu_tensor, place),
            "layout": tensors.layout, "size": tensors.size, "device": tensors.device,
            "np_scalar": arrays.scalar, "np_frombuffer": arrays.frombuffer,
            "set": lambda items=(): set(_hashable(items)), "frozenset": lambda items=(): frozenset(_hashable(items)),
            "slice": _slice, "complex": _complex, "bytes": _bytes, "bytearray": lambda *a: bytearray(_bytes(*a)),
            "codecs_encode": _encode,
        }
        calls["tensor_from_type"] = functools.partial(tensors.rebuild_from_type, calls)
        calls["tensor_from_type_v1"] = calls["tensor_from_type"]
        self.calls = calls

    # ----------------------------------------------------------------------------- walking
    def build(self, root: Any) -> Any:
        """The value ``root`` stands for (scalars are themselves)."""
        if not isinstance(root, Node):
            return root
        state: dict[int, object] = {}
        stack: list[tuple[Node, list, int]] = [(root, self._children(root), 0)]
        state[id(root)] = _GRAY
        while stack:
            node, kids, index = stack[-1]
            while index < len(kids) and not self._pending(kids[index], state):
                index += 1
            if index < len(kids):
                child = kids[index]
                stack[-1] = (node, kids, index + 1)
                if len(stack) >= self.limits.max_depth:
                    raise Refused(f"nests containers deeper than {self.limits.max_depth} levels")
                state[id(child)] = _GRAY
                stack.append((child, self._children(child), 0))
                continue
            stack.pop()
            self._weigh(node, kids)
            self.values[id(node)] = self._make(node)
            self.keep.append(node)
            state[id(node)] = None
        return self.values[id(root)]

    def _pending(self, child: Any, state: dict) -> bool:
        if not isinstance(child, Node) or id(child) in self.values:
            return False
        if state.get(id(child)) is _GRAY:
            raise Refused("holds a container that contains itself (a reference cycle; data has none)")
        return True

    def _children(self, node: Node) -> list:
        if isinstance(node, Call) and _kind(node.func) is None:
            return []  # skipped: its arguments are never looked at
        return children(node)

    def _weigh(self, node: Node, kids: list) -> None:
        size, depth = 1, 1
        for kid in kids:
            kid_size, kid_depth = self.weights.get(id(kid), (1, 0)) if isinstance(kid, Node) else (1, 0)
            size, depth = size + kid_size, max(depth, kid_depth + 1)
        if size > self.limits.max_tree_nodes:
            raise Refused(f"its shared references expand to more than {self.limits.max_tree_nodes:,} values when "
                          "walked as a tree")
        self.weights[id(node)] = (size, depth)

    def value(self, item: Any) -> Any:
        return self.values[id(item)] if isinstance(item, Node) else item

    # ----------------------------------------------------------------------------- interpreting
    def _make(self, node: Node) -> Any:
        if isinstance(node, ListNode):
            return [self.value(v) for v in node.items]
        if isinstance(node, TupleNode):
            return tuple(self.value(v) for v in node.items)
        if isinstance(node, DictNode):
            return _dict(dict(), [(self.value(k), self.value(v)) for k, v in node.pairs])
        if isinstance(node, SetNode):
            items = _hashable([self.value(v) for v in node.items])
            return frozenset(items) if node.frozen else set(items)
        if isinstance(node, Persistent):
            return self.resolve(self.value(node.pid))
        if isinstance(node, Global):
            return _global_value(node)
        return self._call(node)

    def _call(self, node: Call) -> Any:
        kind, qualname = _kind(node.func), node.func.qualname
        if kind is None:
            return Skipped(qualname)
        args = self.value(node.args)
        if node.kwargs is not None and self.value(node.kwargs):
            raise Corrupt(f"{qualname} is called with keyword arguments, which no checkpoint does")
        state = self.value(node.state) if node.has_state else None
        items, pairs = [self.value(v) for v in node.items], [(self.value(k), self.value(v)) for k, v in node.pairs]
        if kind not in _TAKES_ITEMS and (items or pairs or (node.has_state and kind not in ("np_reconstruct",
                                                                                             "np_dtype"))):
            raise Corrupt(f"{qualname} is given state or items, which no checkpoint does")
        try:
            if kind == "ordered_dict":
                return _ordered_dict(args, pairs, state)
            if kind == "default_dict":
                return _dict(dict(), (list(args[1].items()) if len(args) > 1 and isinstance(args[1], dict)
                                      else []) + pairs)
            if kind == "counter":
                return _dict(dict(), (list(args[0].items()) if args and isinstance(args[0], dict) else []) + pairs)
            if kind == "np_reconstruct":
                return arrays.reconstruct(*args, state=state)
            if kind == "np_dtype":
                return arrays.dtype(*args, state=state)
            if kind == "reconstructor":
                return Skipped(args[0].qualname if args and isinstance(args[0], (Skipped, NameRef)) else qualname)
            if kind in self.calls:
                return self.calls[kind](*args)
        except TypeError as exc:
            raise Corrupt(f"{qualname} is called with malformed arguments ({exc})") from None
        if kind.startswith("value:"):
            return Skipped(qualname)  # a type called as a constructor (e.g. builtins.dict(...)): not made
        raise Corrupt(f"{qualname} cannot be called")


def _kind(func: Any) -> Any:
    return grammar_kind(func.module, func.name) if isinstance(func, Global) else None


def _global_value(node: Global) -> Any:
    kind = grammar_kind(node.module, node.name)
    if kind is None:
        return Skipped(node.qualname)
    tables = {"value:dtype": DTYPES, "value:qscheme": QSCHEMES, "value:memory_format": MEMORY_FORMATS}
    if kind in tables:
        return tables[kind][node.name]
    return NameRef(kind, node.qualname)


def _hashable(items: Any) -> list:
    items = list(items) if isinstance(items, (list, tuple, set, frozenset)) else None
    if items is None:
        raise Corrupt("a set is built from something that is not a sequence")
    for item in items:
        try:
            hash(item)
        except TypeError:
            raise Corrupt(f"a set holds an unhashable {type(item).__name__}") from None
    return items


def _dict(target: dict, pairs: list) -> dict:
    for key, value in pairs:
        try:
            target[key] = value
        except TypeError:
            raise Corrupt(f"a dict key is an unhashable {type(key).__name__}") from None
    return target


def _ordered_dict(args: tuple, pairs: list, state: Any) -> OrderedDict:
    initial = args[0] if args else []
    if not isinstance(initial, list) or not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in initial):
        raise Corrupt("an OrderedDict is built from something that is not a list of pairs")
    result = _dict(OrderedDict(), [tuple(p) for p in initial] + pairs)
    attributes = state[0] if isinstance(state, tuple) and len(state) == 2 else state
    metadata = attributes.get("_metadata") if isinstance(attributes, dict) else None
    if _is_module_metadata(metadata):
        result._metadata = OrderedDict(metadata)  # type: ignore[attr-defined]
    return result


def _is_module_metadata(metadata: Any) -> bool:
    """A state dict's ``_metadata``: ``{module prefix: {'version': int, ...}}`` of plain values."""
    return isinstance(metadata, dict) and all(
        isinstance(k, str) and isinstance(v, dict)
        and all(isinstance(a, str) and type(b) in (int, bool, type(None)) for a, b in v.items())
        for k, v in metadata.items())


def _slice(*args: Any) -> slice:
    if len(args) > 3 or not all(a is None or type(a) is int for a in args):
        raise Corrupt("a slice of values that are not integers")
    return slice(*args)


def _complex(real: Any = 0.0, imag: Any = 0.0) -> complex:
    if type(real) not in (int, float) or type(imag) not in (int, float):
        raise Corrupt("a complex number of values that are not numbers")
    return complex(real, imag)


def _encode(text: Any, encoding: Any = "utf-8") -> bytes:
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise Corrupt("_codecs.encode is used for something other than text -> latin1/utf-8 bytes")
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:  # pickle writes bytes as latin-1 text: a character past U+00FF was not written so
        raise Corrupt(f"_codecs.encode of text that {encoding} cannot encode") from None


def _bytes(source: Any = b"", encoding: Any = None) -> bytes:
    if isinstance(source, (bytes, bytearray)) and encoding is None:
        return bytes(source)
    if isinstance(source, str) and encoding is not None:
        return _encode(source, encoding)
    if isinstance(source, list) and all(type(v) is int and 0 <= v < 256 for v in source):
        return bytes(source)
    raise Corrupt("bytes are built from something that is not bytes, text or byte values")


# ----------------------------------------------------------------------------- dropping markers
def _is_marker(value: Any) -> bool:
    return isinstance(value, (Skipped, NameRef))


def _containers(value: Any) -> bool:
    return type(value) in (dict, OrderedDict, list, tuple, set, frozenset)


def _leaf(value: Any) -> Any:
    if isinstance(value, StorageRef):
        if value.dtype is None:
            return value.storage
        return torch.storage.TypedStorage(wrap_storage=value.storage, dtype=value.dtype, _internal=True)
    return value


def drop_skipped(root: Any) -> tuple[Any, list[tuple[str, str]]]:
    """``(root without markers, [(key path, qualified name), ...])``; a marker at the top stays as it is."""
    skipped: list[tuple[str, str]] = []
    if not _containers(root):
        return _leaf(root), skipped
    memo: dict[int, Any] = {}
    stack: list[tuple[Any, str, bool]] = [(root, "", False)]
    while stack:
        obj, path, ready = stack.pop()
        if ready:
            memo[id(obj)] = _rebuilt(obj, path, memo, skipped)
            continue
        if id(obj) in memo:
            continue
        stack.append((obj, path, True))
        for child, child_path in _items_with_paths(obj, path):
            if _containers(child) and id(child) not in memo:
                stack.append((child, child_path, False))
    return memo[id(root)], skipped


def _items_with_paths(obj: Any, path: str) -> list[tuple[Any, str]]:
    if isinstance(obj, dict):
        return [(v, f"{path}.{k}" if path else str(k)) for k, v in obj.items()]
    return [(v, f"{path}[{i}]") for i, v in enumerate(obj)]


def _rebuilt(obj: Any, path: str, memo: dict, skipped: list) -> Any:
    def clean(value: Any) -> Any:
        return memo[id(value)] if _containers(value) else _leaf(value)

    if isinstance(obj, dict):
        out: dict = OrderedDict() if type(obj) is OrderedDict else {}
        for key, value in obj.items():
            marker = key if _is_marker(key) else value if _is_marker(value) else None
            if marker is not None:
                leaf = "<key>" if marker is key else str(key)
                skipped.append((f"{path}.{leaf}" if path else leaf, marker.qualname))
            else:
                out[key] = clean(value)
        if hasattr(obj, "_metadata"):
            out._metadata = obj._metadata  # type: ignore[attr-defined]
        return out
    kept = []
    for index, value in enumerate(obj):
        if _is_marker(value):
            skipped.append((f"{path}[{index}]", value.qualname))
        else:
            kept.append(clean(value))
    return type(obj)(kept)
