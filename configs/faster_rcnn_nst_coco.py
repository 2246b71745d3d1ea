# The headline on COCO: NST backbone + NST on FPN P2-P6 from mmdet's frozen COCO Faster R-CNN
# R-101-FPN; download its checkpoint from
# https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_r101_fpn_1x_coco/
# faster_rcnn_r101_fpn_1x_coco_20200130-f513f705.pth
_base_ = './faster_rcnn_nst_backbone_only_coco.py'

teacher_config = 'mmdet::faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py'
teacher_checkpoint = 'checkpoints/faster_rcnn_r101_fpn_1x_coco_20200130-f513f705.pth'

model = dict(
    _delete_=True,
    type='NSTDistillDetector',
    student={{_base_.model}},
    teacher_cfg=teacher_config,
    teacher_ckpt=teacher_checkpoint,
    nst=dict(
        levels=('p2', 'p3', 'p4', 'p5', 'p6'),
        level_weights=None,
        warmup_iters=500,
        loss=dict(type='NSTLoss', kernel='poly', degree=2, constant=0.0, loss_weight=50.0)))
