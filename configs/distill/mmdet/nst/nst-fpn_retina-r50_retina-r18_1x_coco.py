# Teacher: mmdet's COCO RetinaNet R-50-FPN (frozen), by its model-zoo URL (downloaded once into torch's hub cache).
# Student: RetinaNet R-18-FPN from the NST-distilled ResNet-18 (retinanet_r18_fpn_nst-backbone_1x_coco.py).
# Levels: P3-P7, every level the head reads (../_base_/fpn_levels.py). Dataset: COCO train2017 -> val2017.
# Schedule: stock 1x (500-iteration warm-up, which the NST losses follow), 16 images per step.
_base_ = ['../../../detection/retinanet/retinanet_r18_fpn_nst-backbone_1x_coco.py',
          '../../../_base_/nst_fpn_distill.py', '../_base_/fpn_levels.py']

teacher_config = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
teacher_checkpoint = ('https://download.openmmlab.com/mmdetection/v2.0/retinanet/retinanet_r50_fpn_1x_coco/'
                      'retinanet_r50_fpn_1x_coco_20200130-c2398f9e.pth')

model = dict(_base_.nst_fpn, _delete_=True, student={{_base_.model}},
             teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint),
             distill=dict(_base_.nst_fpn.distill, taps=_base_.single_stage_taps))
