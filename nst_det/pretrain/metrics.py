"""Top-k classification accuracy as an mmengine metric (gathered across ranks by BaseMetric)."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric

from nst_det.registry import METRICS


@METRICS.register_module()
class TopKAccuracy(BaseMetric):
    """Top-k accuracy in percent, logged as ``<prefix>/top1``, ``<prefix>/top5``, ...

    Expects the ``"predict"`` outputs of :class:`~nst_det.pretrain.models.ClassifierDistiller`:
    per-image dicts with ``scores`` ``(K,)`` and ``gt_label`` (scalar tensor).
    """

    default_prefix = "accuracy"

    def __init__(self, topk: Sequence[int] = (1, 5), collect_device: str = "cpu",
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = tuple(topk)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        scores = torch.stack([s["scores"] for s in data_samples]).cpu()
        labels = torch.stack([torch.as_tensor(s["gt_label"]) for s in data_samples]).cpu()
        # rank of the true class: number of classes scored strictly higher
        ranks = (scores > scores.gather(1, labels.view(-1, 1))).sum(1)
        self.results.extend(ranks.tolist())

    def compute_metrics(self, results: list) -> dict[str, float]:
        ranks = torch.tensor(results)
        return {f"top{k}": 100.0 * (ranks < k).float().mean().item() for k in self.topk}
