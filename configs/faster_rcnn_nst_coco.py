# The headline on COCO: NST backbone + NST on FPN P2-P5 from mmdet's frozen COCO Faster R-CNN
# R-101-FPN; download its checkpoint from
# https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_r101_fpn_1x_coco/
# faster_rcnn_r101_fpn_1x_coco_20200130-f513f705.pth
# Same-teacher control (FPN feature mimicking with MSE on the same levels): faster_rcnn_fpn_mse_coco.py.
_base_ = './faster_rcnn_nst_backbone_only_coco.py'

teacher_config = 'mmdet::faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py'
teacher_checkpoint = 'checkpoints/faster_rcnn_r101_fpn_1x_coco_20200130-f513f705.pth'

model = dict(
    _delete_=True,
    type='NSTDistillDetector',
    student={{_base_.model}},
    teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint),
    distill=dict(
        taps=('p2', 'p3', 'p4', 'p5'),  # P6 is a strided copy of P5: see faster_rcnn_nst.py
        level_weights=None,
        warmup_iters=500,  # the stock 1x schedule's linear LR warm-up length (LinearLR, 500 iterations)
        loss=dict(type='NSTLoss', kernel='poly', degree=2, constant=0.0, loss_weight=50.0)))
