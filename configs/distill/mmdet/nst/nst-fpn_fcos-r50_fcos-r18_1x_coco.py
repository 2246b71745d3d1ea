# Teacher: FCOS R-50-FPN trained on COCO with fcos_r50_fpn_gn-head_1x_coco.py (frozen; mmdet's released FCOS weights
# are Caffe-style and normalise differently from the student, so train it, or pass any pytorch-style FCOS, e.g.
# teacher_config=mmdet::fcos/fcos_r50_fpn_gn-head-center-normbbox-centeronreg-giou_8xb8-amp-lsj-200e_coco.py with
# its checkpoint). Student: FCOS R-18-FPN from the NST-distilled ResNet-18 (fcos_r18_fpn_nst-backbone_1x_coco.py).
# Levels: P3-P7, every level the head reads (../_base_/fpn_levels.py). Dataset: COCO train2017 -> val2017.
# Schedule: the stock FCOS 1x (500-iteration warm-up, which the NST losses follow), 16 images per step.
_base_ = ['../../../detection/fcos/fcos_r18_fpn_nst-backbone_1x_coco.py',
          '../../../_base_/nst_fpn_distill.py', '../_base_/fpn_levels.py']

teacher_config = '{{ fileDirname }}/../../../detection/fcos/fcos_r50_fpn_gn-head_1x_coco.py'
teacher_checkpoint = 'work_dirs/fcos_r50_fpn_gn-head_1x_coco'

model = dict(_base_.nst_fpn, _delete_=True, student={{_base_.model}},
             teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint),
             distill=dict(_base_.nst_fpn.distill, taps=_base_.single_stage_taps))
