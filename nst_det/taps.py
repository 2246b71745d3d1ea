"""Feature taps: capture intermediate features of named submodules with forward hooks.

    taps = FeatureTaps(model, ["layer4", "layer3.1.conv2:input"])
    with taps:                       # hooks live only inside the block
        model(images)
        layer4 = taps["layer4"]      # (B, C, H, W), as the module returned it

A tap is a dotted module name (``model.get_submodule`` syntax), optionally suffixed ``:output``
(default) or ``:input``; ``:input`` uses a forward pre-hook and captures the module's first
positional input — e.g. a block's pre-activation features, which the official NST code matched.
Inputs are cloned, because an in-place module (torchvision's ``ReLU(inplace=True)``) would
otherwise overwrite the captured tensor. A module called several times in one forward (a ResNet
block's shared ``relu``) keeps its last call: ``layer4.1.relu:input`` is the pre-activation sum of
the block's residual branch and shortcut.

``keep_tuple=True`` stores the whole output of a module that returns a tuple or list of tensors
(an FPN neck: one tensor per pyramid level) instead of its first tensor.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Optional, Sequence, Union

from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from nst_det.utils.errors import InvalidInputError

TAP_POINTS = ("output", "input")


@dataclass(frozen=True)
class TapSpec:
    """Where a tap reads: ``module`` (dotted name) and ``point`` (``"output"`` or ``"input"``)."""

    module: str
    point: str = "output"

    @classmethod
    def parse(cls, spec: Union[str, "TapSpec"]) -> "TapSpec":
        if isinstance(spec, TapSpec):
            return spec
        if not isinstance(spec, str) or not spec:
            raise InvalidInputError(f"a tap must be a non-empty string like 'layer4' or 'layer4:input', got {spec!r}")
        module, _, point = spec.partition(":")
        point = point or "output"
        if point not in TAP_POINTS:
            raise InvalidInputError(f"tap {spec!r}: unknown point {point!r}; choose one of {TAP_POINTS}")
        return cls(module, point)

    def __str__(self) -> str:
        return self.module if self.point == "output" else f"{self.module}:{self.point}"


def _first_tensor(value: object, where: str) -> Tensor:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], Tensor):
        return value[0]
    raise InvalidInputError(f"tap {where}: the module produced {type(value).__name__}, not a tensor; "
                            "tap a module whose output (or first input) is a tensor")


def _tensor_tuple(value: object, where: str) -> tuple[Tensor, ...]:
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, Tensor) for v in value):
        return tuple(value)
    return (_first_tensor(value, where),)


Feature = Union[Tensor, tuple[Tensor, ...]]


def missing_module(model: nn.Module, name: str) -> str:
    """Why ``model.get_submodule(name)`` fails, naming what exists: the children of the deepest existing
    parent (``"ResNet has no 'layer4.5': 'layer4' has children ['0', '1']"``)."""
    parent, found = model, []
    for part in name.split("."):
        children = dict(parent.named_children())
        if part not in children:
            where = f"{'.'.join(found)!r} has" if found else "its top level has"
            return (f"{type(model).__name__} has no submodule {name!r}: {where} "
                    f"children {list(children) or 'none'}")
        parent = children[part]
        found.append(part)
    return f"{type(model).__name__} has no submodule {name!r}"


class FeatureTaps:
    """Forward hooks on named submodules of ``model`` that store the features of the last forward.

    Args:
        model: the network to observe.
        specs: tap names (``"layer4"``, ``"layer4:input"``) or :class:`TapSpec`.
        detach: store detached features (for a frozen teacher).
        keep_tuple: for output taps, store the whole tuple/list of tensors a module returns (an FPN
            neck's levels) instead of its first tensor; a module returning one tensor gives a
            1-tuple. Input taps always store the first input.

    The object is a context manager: hooks are registered on ``__enter__`` (or :meth:`attach`)
    and removed on ``__exit__`` (or :meth:`remove`), also when the block raises.
    Features are cleared at each attach and by :meth:`clear`.
    """

    def __init__(self, model: nn.Module, specs: Iterable[Union[str, TapSpec]], detach: bool = False,
                 keep_tuple: bool = False) -> None:
        self.model = model
        self.specs: list[TapSpec] = [TapSpec.parse(s) for s in specs]
        if not self.specs:
            raise InvalidInputError("FeatureTaps needs at least one tap")
        names = [str(s) for s in self.specs]
        if len(set(names)) != len(names):
            raise InvalidInputError(f"duplicate taps in {names}")
        self.modules = {str(spec): self._resolve(spec) for spec in self.specs}
        self.detach = detach
        self.keep_tuple = keep_tuple
        self.features: dict[str, Feature] = {}
        self._handles: list[RemovableHandle] = []

    def _resolve(self, spec: TapSpec) -> nn.Module:
        try:
            return self.model.get_submodule(spec.module)
        except AttributeError:
            raise InvalidInputError(f"tap {str(spec)!r}: {missing_module(self.model, spec.module)}") from None

    def _store(self, name: str, value: object, clone: bool) -> None:
        if self.keep_tuple and not clone:  # output taps only
            levels = _tensor_tuple(value, name)
            self.features[name] = tuple(f.detach() for f in levels) if self.detach else levels
            return
        feature = _first_tensor(value, name)
        if self.detach:
            feature = feature.detach()
        self.features[name] = feature.clone() if clone else feature

    @property
    def attached(self) -> bool:
        return bool(self._handles)

    def attach(self) -> "FeatureTaps":
        if self.attached:
            raise RuntimeError("FeatureTaps are already attached")
        self.features.clear()
        for spec in self.specs:
            name, module = str(spec), self.modules[str(spec)]
            if spec.point == "output":
                hook = module.register_forward_hook(lambda _m, _i, out, name=name: self._store(name, out, False))
            else:
                hook = module.register_forward_pre_hook(lambda _m, inp, name=name: self._store(name, inp, True))
            self._handles.append(hook)
        return self

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def clear(self) -> None:
        self.features.clear()

    def __enter__(self) -> "FeatureTaps":
        return self.attach()

    def __exit__(self, *exc) -> None:
        self.remove()

    def __getitem__(self, name: str) -> Feature:
        try:
            return self.features[name]
        except KeyError:
            state = "ran" if self.features else "has not run since the taps were attached"
            raise KeyError(f"no feature captured for tap {name!r}: the model {state}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(str(s) for s in self.specs)

    def __len__(self) -> int:
        return len(self.specs)

    def pop_all(self, names: Optional[Sequence[str]] = None) -> list[Feature]:
        """Return the captured features in tap order (or ``names`` order) and clear them."""
        out = [self[n] for n in (names or list(self))]
        self.clear()
        return out
