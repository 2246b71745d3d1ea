# The headline on COCO. Teacher: mmdet's COCO Faster R-CNN R-101-FPN (frozen). Student: Faster R-CNN R-18-FPN
# from the NST-distilled ResNet-18. NST on FPN P2-P5 (configs/_base_/nst_fpn_distill.py). Dataset: train2017 ->
# val2017 (CocoMetric, per-class table). Schedule: stock 1x (lr 0.02, 500-iteration linear warm-up, which the
# distillation losses follow) for 16 images per step (8 GPUs x 2).
# The teacher is named by its model-zoo URL: downloaded once into torch's hub cache.
# Same-teacher controls: ../mse/, ../pkd/, ../cwd/ (same name).
_base_ = ['../../../detection/faster_rcnn/faster-rcnn_r18_fpn_nst-backbone_1x_coco.py',
          '../../../_base_/nst_fpn_distill.py']

teacher_config = 'mmdet::faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py'
teacher_checkpoint = ('https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_r101_fpn_1x_coco/'
                      'faster_rcnn_r101_fpn_1x_coco_20200130-f513f705.pth')

model = dict(_base_.nst_fpn, _delete_=True, student={{_base_.model}},
             teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint))
