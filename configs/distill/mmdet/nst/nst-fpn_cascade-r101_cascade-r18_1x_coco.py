# Teacher: mmdet's COCO Cascade R-CNN R-101-FPN (frozen), by its model-zoo URL (downloaded once into torch's hub
# cache). Student: Cascade R-CNN R-18-FPN from the NST-distilled ResNet-18
# (cascade-rcnn_r18_fpn_nst-backbone_1x_coco.py).
# Levels: P2-P5 (P6 is max_pool(P5)). Dataset: COCO train2017 -> val2017. Schedule: stock 1x (500-iteration
# warm-up, which the NST losses follow), 16 images per step.
_base_ = ['../../../detection/cascade_rcnn/cascade-rcnn_r18_fpn_nst-backbone_1x_coco.py',
          '../../../_base_/nst_fpn_distill.py']

teacher_config = 'mmdet::cascade_rcnn/cascade-rcnn_r101_fpn_1x_coco.py'
teacher_checkpoint = ('https://download.openmmlab.com/mmdetection/v2.0/cascade_rcnn/cascade_rcnn_r101_fpn_1x_coco/'
                      'cascade_rcnn_r101_fpn_1x_coco_20200317-0b6a2fbf.pth')

model = dict(_base_.nst_fpn, _delete_=True, student={{_base_.model}},
             teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint))

