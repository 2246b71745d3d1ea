# The headline: Faster R-CNN R-18-FPN from the NST-distilled ResNet-18, VOC07+12 -> VOC07 test,
# trained with NST on the FPN levels P2-P5 from a frozen R-50-FPN teacher detector.
# The teacher is mmdet's own VOC07+12 Faster R-CNN R-50-FPN; download its checkpoint from
# https://download.openmmlab.com/mmdetection/v2.0/pascal_voc/faster_rcnn_r50_fpn_1x_voc0712/
# faster_rcnn_r50_fpn_1x_voc0712_20220320_192712-54bef0f3.pth
# Checkpoints hold the student alone: test them with this config or faster_rcnn_nst_backbone_only.py.
# Same-teacher control (FPN feature mimicking with MSE on the same levels): faster_rcnn_fpn_mse.py.
_base_ = './faster_rcnn_nst_backbone_only.py'

teacher_config = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
teacher_checkpoint = 'checkpoints/faster_rcnn_r50_fpn_1x_voc0712_20220320_192712-54bef0f3.pth'

model = dict(
    _delete_=True,
    type='NSTDistillDetector',
    student={{_base_.model}},
    teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint),
    distill=dict(
        # P2-P5: the FPN outputs both the RPN and the RoI head (featmap_strides 4-32) read. P6 is left out: in
        # Faster R-CNN's FPN (add_extra_convs=False) it is max_pool(P5, kernel 1, stride 2), a strided copy of P5,
        # so distilling it would count P5 twice.
        taps=('p2', 'p3', 'p4', 'p5'),
        level_weights=None,
        warmup_iters=0,  # the stock VOC schedule has no LR warm-up: distillation starts at full weight too
        # loss_weight 50: the released code's ImageNet NST weight (nst_det/losses/nst.py), used per level here;
        # the paper and the released code have no FPN NST, so this value is ours, not theirs
        loss=dict(type='NSTLoss', kernel='poly', degree=2, constant=0.0, loss_weight=50.0)))
