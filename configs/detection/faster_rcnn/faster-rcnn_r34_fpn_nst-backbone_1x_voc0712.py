# Backbone-only transfer with a ResNet-34 student: Faster R-CNN R-34-FPN on VOC, as
# faster-rcnn_r18_fpn_ce-backbone_1x_voc0712.py, with the ResNet-34 the ImageNet stage distilled from ResNet-101
# (configs/distill/imagenet/nst/nst_r101_r34_100e_imagenet.py).
_base_ = './faster-rcnn_r18_fpn_ce-backbone_1x_voc0712.py'

backbone_checkpoint = 'work_dirs/nst_r101_r34_100e_imagenet/backbone_resnet34.pth'

model = dict(
    backbone=dict(depth=34, init_cfg=dict(checkpoint=backbone_checkpoint)),
    neck=dict(in_channels=[64, 128, 256, 512]))
