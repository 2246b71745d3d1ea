"""A pickle interpreter that builds a graph of what the pickle says, and runs nothing.

:func:`parse` reads one pickle (protocols 0-5) from a byte buffer and returns its value as a graph
of :class:`Node` objects: ``GLOBAL`` becomes a :class:`Global` (a name, never imported or looked
up), ``REDUCE``/``NEWOBJ``/``INST``/``OBJ`` become a :class:`Call` (a record of *what* would be
called with *which* arguments; nothing is called), ``BUILD`` records the state on the call it
follows, ``APPEND(S)``/``SETITEM(S)``/``ADDITEMS`` record items on the container or call they act on.
Scalars (``int``, ``float``, ``str``, ``bytes``, ``bool``, ``None``) are themselves.

What it refuses (:class:`~nst_det.utils.reader.errors.Hostile`, ``Refused``, ``Corrupt``; one line):

* a global name :func:`~nst_det.utils.reader.names.hostile_reason` names, at the opcode that reads it;
* ``BUILD`` on anything but a call this pickle made, or twice on the same call; a call of anything
  but a global (``getattr(...)(...)`` chains);
* extension-registry (``EXT*``) and out-of-band buffer opcodes, unknown opcodes, lengths past the
  end of the data, and more than ``max_objects`` objects.

The graph is interpreted afterwards by :mod:`~nst_det.utils.reader.build`.
"""
from __future__ import annotations

import codecs
import pickle
import struct
from typing import Any, Callable, Union

from nst_det.utils.reader.errors import Corrupt, Hostile, Refused
from nst_det.utils.reader.names import hostile_reason
from nst_det.utils.reader.nodes import Call, DictNode, Global, ListNode, Persistent, SetNode, TupleNode

Buffer = Union[bytes, bytearray, memoryview]


class Parser:
    """One pickle from ``data[pos:]``; :meth:`run` returns ``(value, end position)``."""

    def __init__(self, data: Buffer, pos: int, max_objects: int, encoding: str = "utf-8") -> None:
        self.data, self.pos, self.max_objects, self.encoding = memoryview(data), pos, max_objects, encoding
        self.stack: list = []
        self.metastack: list = []
        self.memo: dict[int, Any] = {}
        self.objects = 0
        self.persistent: list[Persistent] = []

    # ----------------------------------------------------------------------------- reading
    def read(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise Corrupt(f"a length of {n} bytes runs past the end of the data")
        out = self.data[self.pos:self.pos + n].tobytes()
        self.pos += n
        return out

    def readline(self) -> bytes:
        end = self._find_newline()
        if end < 0:
            raise Corrupt("a text opcode has no end of line")
        return self.read(end + 1)[:-1]

    def _find_newline(self) -> int:
        chunk = 1 << 16
        for start in range(self.pos, len(self.data), chunk):
            found = self.data[start:start + chunk].tobytes().find(b"\n")
            if found >= 0:
                return start - self.pos + found
        return -1

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    # ----------------------------------------------------------------------------- stack
    def push(self, value: Any) -> None:
        self.objects += 1
        if self.objects > self.max_objects:
            raise Refused(f"holds more than {self.max_objects:,} objects (a checkpoint of weights has far fewer)")
        self.stack.append(value)

    def pop(self) -> Any:
        if not self.stack:
            raise Corrupt("pops an empty stack")
        return self.stack.pop()

    def top(self) -> Any:
        if not self.stack:
            raise Corrupt("reads an empty stack")
        return self.stack[-1]

    def pop_mark(self) -> list:
        if not self.metastack:
            raise Corrupt("pops a mark that was never set")
        items, self.stack = self.stack, self.metastack.pop()
        return items

    def global_node(self, module: Any, name: Any) -> Global:
        if not isinstance(module, str) or not isinstance(name, str):
            raise Corrupt("a global whose module or name is not text")
        reason = hostile_reason(module, name)
        if reason is not None:
            raise Hostile(f"{module}.{name}", reason)
        return Global(module, name)

    def decode(self, raw: bytes) -> str:
        try:
            return raw.decode(self.encoding)
        except UnicodeDecodeError:
            raise Corrupt(f"a string is not valid {self.encoding}") from None

    # ----------------------------------------------------------------------------- run
    def run(self) -> tuple[Any, int]:
        dispatch = _DISPATCH
        while True:
            opcode = self.read(1)
            if opcode == pickle.STOP:
                value = self.pop()
                if self.metastack or self.stack:
                    raise Corrupt("ends with values left on its stack")
                return value, self.pos
            handler = dispatch.get(opcode[0])
            if handler is None:
                raise Refused(f"unknown or disallowed pickle opcode {opcode!r}")
            try:
                handler(self)
            except (ValueError, OverflowError, struct.error) as exc:
                raise Corrupt(f"a malformed {pickle_opcode_name(opcode[0])} opcode ({exc})") from None


def pickle_opcode_name(code: int) -> str:
    return _NAMES.get(code, f"0x{code:02x}")


# ----------------------------------------------------------------------------- opcodes
def _int_text(p: Parser) -> None:
    line = p.readline()
    p.push(line == b"01" if line in (b"00", b"01") else int(line))


def _long_text(p: Parser) -> None:
    line = p.readline()
    p.push(int(line[:-1] if line.endswith(b"L") else line))


def _string_text(p: Parser) -> None:
    line = p.readline()
    if len(line) < 2 or line[:1] != line[-1:] or line[:1] not in (b'"', b"'"):
        raise Corrupt("a STRING opcode without quotes")
    p.push(p.decode(codecs.escape_decode(line[1:-1])[0]))


def _unicode_text(p: Parser) -> None:
    p.push(str(p.readline(), "raw-unicode-escape"))


def _get(p: Parser, index: int) -> None:
    if index not in p.memo:
        raise Corrupt(f"refers to memo entry {index}, which was never stored")
    p.stack.append(p.memo[index])


def _put(p: Parser, index: int) -> None:
    if index < 0:
        raise Corrupt("a negative memo index")
    p.memo[index] = p.top()


def _global_text(p: Parser) -> None:
    module, name = p.decode(p.readline()), p.decode(p.readline())
    p.push(p.global_node(module, name))


def _stack_global(p: Parser) -> None:
    name, module = p.pop(), p.pop()
    p.push(p.global_node(module, name))


def _inst(p: Parser) -> None:
    module, name = p.decode(p.readline()), p.decode(p.readline())
    func = p.global_node(module, name)
    p.push(Call(func, TupleNode(tuple(p.pop_mark()))))


def _obj(p: Parser) -> None:
    args = p.pop_mark()
    if not args:
        raise Corrupt("an OBJ opcode without a class")
    p.push(Call(_callee(args[0]), TupleNode(tuple(args[1:]))))


def _callee(func: Any) -> Global:
    if not isinstance(func, Global):
        raise Refused("calls something that is not a global name (the result of another call: code, not data)")
    return func


def _reduce(p: Parser) -> None:  # REDUCE and NEWOBJ: func(*args), cls.__new__(cls, *args)
    args = p.pop()
    func = _callee(p.pop())
    if not isinstance(args, TupleNode):
        raise Corrupt("a call whose arguments are not a tuple")
    p.push(Call(func, args))


def _newobj_ex(p: Parser) -> None:
    kwargs, args = p.pop(), p.pop()
    cls = _callee(p.pop())
    if not isinstance(args, TupleNode) or not isinstance(kwargs, DictNode):
        raise Corrupt("NEWOBJ_EX arguments are malformed")
    p.push(Call(cls, args, kwargs))


def _build(p: Parser) -> None:
    state = p.pop()
    target = p.top()
    if not isinstance(target, Call):
        raise Refused(f"sets the state of a {type(target).__name__}, which no checkpoint does")
    if target.has_state:
        raise Refused("sets the state of one object twice (a checkpoint never does; an attack on "
                      "an object already in use would)")
    target.state = state


def _append(p: Parser) -> None:
    value = p.pop()
    _add_items(p.top(), [value])


def _appends(p: Parser) -> None:
    items = p.pop_mark()
    _add_items(p.top(), items)


def _add_items(target: Any, items: list) -> None:
    if not isinstance(target, (ListNode, Call)):
        raise Corrupt(f"appends to a {type(target).__name__}")
    target.items.extend(items)


def _setitem(p: Parser) -> None:
    value, key = p.pop(), p.pop()
    _set_items(p.top(), [(key, value)])


def _setitems(p: Parser) -> None:
    items = p.pop_mark()
    if len(items) % 2:
        raise Corrupt("SETITEMS with an odd number of values")
    _set_items(p.top(), list(zip(items[::2], items[1::2])))


def _set_items(target: Any, pairs: list) -> None:
    if isinstance(target, (DictNode, Call)):
        target.pairs.extend(pairs)
    else:
        raise Corrupt(f"sets items of a {type(target).__name__}")


def _additems(p: Parser) -> None:
    items = p.pop_mark()
    target = p.top()
    if not (isinstance(target, Call) or isinstance(target, SetNode) and not target.frozen):
        raise Corrupt(f"adds items to a {type(target).__name__}")
    target.items.extend(items)


def _persistent(p: Parser, pid: Any) -> None:
    node = Persistent(pid)
    p.persistent.append(node)
    p.push(node)


def _pop(p: Parser) -> None:
    if p.stack:
        p.stack.pop()
    else:
        p.pop_mark()


def _mark(p: Parser) -> None:
    p.metastack.append(p.stack)
    p.stack = []


def _frame(p: Parser) -> None:
    size = p.unpack("<Q")
    if size > len(p.data) - p.pos:
        raise Corrupt("a frame runs past the end of the data")


def _refuse(what: str) -> Callable[[Parser], None]:
    def handler(p: Parser) -> None:
        raise Refused(f"uses {what}, which no checkpoint does")
    return handler


def _tuple_of(n: int) -> Callable[[Parser], None]:
    def handler(p: Parser) -> None:
        items = tuple(p.pop() for _ in range(n))[::-1]
        p.push(TupleNode(items))
    return handler


P = pickle
_HANDLERS: dict[bytes, Callable[[Parser], None]] = {
    P.MARK: _mark,
    P.POP: _pop,
    P.POP_MARK: lambda p: p.pop_mark(),
    P.DUP: lambda p: p.stack.append(p.top()),
    P.PROTO: lambda p: p.read(1),
    P.FRAME: _frame,
    P.NONE: lambda p: p.push(None),
    P.NEWTRUE: lambda p: p.push(True),
    P.NEWFALSE: lambda p: p.push(False),
    P.INT: _int_text,
    P.BININT: lambda p: p.push(p.unpack("<i")),
    P.BININT1: lambda p: p.push(p.read(1)[0]),
    P.BININT2: lambda p: p.push(p.unpack("<H")),
    P.LONG: _long_text,
    P.LONG1: lambda p: p.push(int.from_bytes(p.read(p.read(1)[0]), "little", signed=True)),
    P.LONG4: lambda p: p.push(int.from_bytes(p.read(p.unpack("<i")), "little", signed=True)),
    P.FLOAT: lambda p: p.push(float(p.readline())),
    P.BINFLOAT: lambda p: p.push(p.unpack(">d")),
    P.STRING: _string_text,
    P.BINSTRING: lambda p: p.push(p.decode(p.read(p.unpack("<i")))),
    P.SHORT_BINSTRING: lambda p: p.push(p.decode(p.read(p.read(1)[0]))),
    P.UNICODE: _unicode_text,
    P.BINUNICODE: lambda p: p.push(p.decode(p.read(p.unpack("<I")))),
    P.SHORT_BINUNICODE: lambda p: p.push(p.decode(p.read(p.read(1)[0]))),
    P.BINUNICODE8: lambda p: p.push(p.decode(p.read(p.unpack("<Q")))),
    P.BINBYTES: lambda p: p.push(p.read(p.unpack("<I"))),
    P.SHORT_BINBYTES: lambda p: p.push(p.read(p.read(1)[0])),
    P.BINBYTES8: lambda p: p.push(p.read(p.unpack("<Q"))),
    P.BYTEARRAY8: lambda p: p.push(bytearray(p.read(p.unpack("<Q")))),
    P.EMPTY_LIST: lambda p: p.push(ListNode([])),
    P.LIST: lambda p: p.push(ListNode(p.pop_mark())),
    P.APPEND: _append,
    P.APPENDS: _appends,
    P.EMPTY_TUPLE: lambda p: p.push(TupleNode(())),
    P.TUPLE: lambda p: p.push(TupleNode(tuple(p.pop_mark()))),
    P.TUPLE1: _tuple_of(1),
    P.TUPLE2: _tuple_of(2),
    P.TUPLE3: _tuple_of(3),
    P.EMPTY_DICT: lambda p: p.push(DictNode([])),
    P.DICT: lambda p: p.push(_dict_from_mark(p)),
    P.SETITEM: _setitem,
    P.SETITEMS: _setitems,
    P.EMPTY_SET: lambda p: p.push(SetNode([], frozen=False)),
    P.FROZENSET: lambda p: p.push(SetNode(p.pop_mark(), frozen=True)),
    P.ADDITEMS: _additems,
    P.GLOBAL: _global_text,
    P.STACK_GLOBAL: _stack_global,
    P.REDUCE: _reduce,
    P.NEWOBJ: _reduce,
    P.NEWOBJ_EX: _newobj_ex,
    P.INST: _inst,
    P.OBJ: _obj,
    P.BUILD: _build,
    P.PERSID: lambda p: _persistent(p, p.decode(p.readline())),
    P.BINPERSID: lambda p: _persistent(p, p.pop()),
    P.GET: lambda p: _get(p, int(p.readline())),
    P.BINGET: lambda p: _get(p, p.read(1)[0]),
    P.LONG_BINGET: lambda p: _get(p, p.unpack("<I")),
    P.PUT: lambda p: _put(p, int(p.readline())),
    P.BINPUT: lambda p: _put(p, p.read(1)[0]),
    P.LONG_BINPUT: lambda p: _put(p, p.unpack("<I")),
    P.MEMOIZE: lambda p: _put(p, len(p.memo)),
    P.EXT1: _refuse("pickle's extension registry (EXT1)"),
    P.EXT2: _refuse("pickle's extension registry (EXT2)"),
    P.EXT4: _refuse("pickle's extension registry (EXT4)"),
    P.NEXT_BUFFER: _refuse("out-of-band buffers (NEXT_BUFFER)"),
    P.READONLY_BUFFER: _refuse("out-of-band buffers (READONLY_BUFFER)"),
}


def _dict_from_mark(p: Parser) -> DictNode:
    items = p.pop_mark()
    if len(items) % 2:
        raise Corrupt("DICT with an odd number of values")
    return DictNode(list(zip(items[::2], items[1::2])))


_DISPATCH: dict[int, Callable[[Parser], None]] = {code[0]: handler for code, handler in _HANDLERS.items()}
_NAMES = {getattr(P, n)[0]: n for n in dir(P)
          if n.isupper() and isinstance(getattr(P, n), bytes) and len(getattr(P, n)) == 1}


def parse(data: Buffer, pos: int = 0, max_objects: int = 5_000_000) -> tuple[Any, int, list[Persistent]]:
    """One pickle from ``data[pos:]``: ``(value graph, end position, persistent-id nodes)``.

    Raises:
        Hostile, Refused, Corrupt: for anything the module docstring lists.
    """
    parser = Parser(data, pos, max_objects)
    value, end = parser.run()
    return value, end, parser.persistent
