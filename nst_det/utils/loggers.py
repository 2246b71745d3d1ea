"""``--vis``: where the training tools log scalars, through mmengine's visualisation backends.

``local`` (``LocalVisBackend``: ``<work_dir>/<timestamp>/vis_data/scalars.json``, what ``tools/compare_runs.py``
and the demo report read) is always kept; ``tensorboard`` adds ``TensorboardVisBackend`` (event files beside
it, ``tensorboard --logdir <work_dir>``), ``wandb`` adds ``WandbVisBackend`` (Weights & Biases; its project
and entity from ``WANDB_PROJECT``/``WANDB_ENTITY`` or ``visualizer.vis_backends.N.init_kwargs``).
"""
from __future__ import annotations

import importlib.util
from typing import Any, Sequence

from nst_det.utils.errors import NSTDetError

# --vis name -> (mmengine backend type, the package it needs)
VIS_BACKENDS = {
    "local": ("LocalVisBackend", None),
    "tensorboard": ("TensorboardVisBackend", "tensorboard"),
    "wandb": ("WandbVisBackend", "wandb"),
}


def set_vis_backends(cfg: Any, names: Sequence[str]) -> list[dict]:
    """Set the visualizer's backends to the local one plus ``names``; returns the backend configs.

    Raises:
        NSTDetError: a backend whose package is not installed (one line naming it).
    """
    for name in names:
        package = VIS_BACKENDS[name][1]
        if package and importlib.util.find_spec(package) is None:
            raise NSTDetError(f"--vis {name} needs the {package} package, which is not installed "
                              f"(pip install {package})")
    backends = [dict(type="LocalVisBackend")]
    backends += [dict(type=VIS_BACKENDS[name][0]) for name in dict.fromkeys(names) if name != "local"]
    visualizer = cfg.get("visualizer") or dict(type="Visualizer", name="visualizer")
    visualizer["vis_backends"] = backends
    cfg.visualizer = visualizer
    cfg.vis_backends = backends
    return backends
