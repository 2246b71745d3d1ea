"""Write a TorchScript archive whose loading writes a file: ``python make_torchscript_payload.py OUT MARKER``.

The scripted module's ``__setstate__`` calls ``aten::save`` on a path the archive carries, so
``torch.jit.load`` (and ``torch.load``, which hands TorchScript zips to it) creates ``MARKER``.
"""
from __future__ import annotations

import sys

import torch


class Payload(torch.nn.Module):
    def __init__(self, path: str) -> None:
        super().__init__()
        self.w = torch.ones(2)
        self.path = path

    @torch.jit.export
    def __getstate__(self) -> tuple[torch.Tensor, str, bool]:
        return (self.w, self.path, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[torch.Tensor, str, bool]) -> None:
        self.w, self.path, self.training = state[0], state[1], state[2]
        torch.ops.aten.save(self.w, self.path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.w


if __name__ == "__main__":
    torch.jit.save(torch.jit.script(Payload(sys.argv[2])), sys.argv[1])
