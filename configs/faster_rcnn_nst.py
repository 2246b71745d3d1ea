# The headline: Faster R-CNN R-18-FPN from the NST-distilled ResNet-18, VOC07+12 -> VOC07 test,
# trained with NST on the five FPN levels (P2-P6) from a frozen R-50-FPN teacher detector.
# The teacher is mmdet's own VOC07+12 Faster R-CNN R-50-FPN; download its checkpoint from
# https://download.openmmlab.com/mmdetection/v2.0/pascal_voc/faster_rcnn_r50_fpn_1x_voc0712/
# faster_rcnn_r50_fpn_1x_voc0712_20220320_192712-54bef0f3.pth
# Checkpoints hold the student alone: test them with this config or faster_rcnn_nst_backbone_only.py.
_base_ = './faster_rcnn_nst_backbone_only.py'

teacher_config = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
teacher_checkpoint = 'checkpoints/faster_rcnn_r50_fpn_1x_voc0712_20220320_192712-54bef0f3.pth'

model = dict(
    _delete_=True,
    type='NSTDistillDetector',
    student={{_base_.model}},
    teacher_cfg=teacher_config,
    teacher_ckpt=teacher_checkpoint,
    nst=dict(
        levels=('p2', 'p3', 'p4', 'p5', 'p6'),
        level_weights=None,
        warmup_iters=500,  # the stock linear LR warm-up length
        loss=dict(type='NSTLoss', kernel='poly', degree=2, constant=0.0, loss_weight=50.0)))
