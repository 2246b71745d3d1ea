"""Detection metrics: ``NamedVOCMetric``, mmdet's ``VOCMetric`` whose per-class table names the dataset's classes."""
from __future__ import annotations

from mmdet.evaluation import VOCMetric

from nst_det.registry import METRICS


@METRICS.register_module()
class NamedVOCMetric(VOCMetric):
    """mmdet's :class:`~mmdet.evaluation.VOCMetric` (same numbers), with the right class names.

    For any dataset under a ``VOC2007``/``VOC2012`` folder, mmdet 3.3 prints the 20 PASCAL VOC
    names in the per-class table, whatever the dataset's classes are (the APs are in the dataset's
    class order). This metric hides ``dataset_type`` from the evaluation so the table uses
    ``dataset_meta['classes']``; for real VOC the table is unchanged.
    """

    def compute_metrics(self, results: list) -> dict:
        meta = self.dataset_meta
        self.dataset_meta = {k: v for k, v in meta.items() if k != "dataset_type"}
        try:
            return super().compute_metrics(results)
        finally:
            self.dataset_meta = meta
