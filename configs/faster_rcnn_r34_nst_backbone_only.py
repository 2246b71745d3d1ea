# Backbone-only transfer with a ResNet-34 student: Faster R-CNN R-34-FPN on VOC, as faster_rcnn_baseline.py,
# with the ResNet-34 the ImageNet stage distilled from ResNet-101 (configs/pretrain/nst_r101_r34_imagenet.py).
_base_ = './faster_rcnn_baseline.py'

backbone_checkpoint = 'work_dirs/nst_r101_r34_imagenet/backbone_resnet34.pth'

model = dict(
    backbone=dict(depth=34, init_cfg=dict(checkpoint=backbone_checkpoint)),
    neck=dict(in_channels=[64, 128, 256, 512]))
