# Backbone-only transfer with a ResNet-50 student: Faster R-CNN R-50-FPN on VOC (the stock config's network),
# with the ResNet-50 the ImageNet stage distilled from ResNet-101
# (configs/distill/imagenet/nst/nst_r101_r50_100e_imagenet.py).
_base_ = './faster-rcnn_r18_fpn_ce-backbone_1x_voc0712.py'

backbone_checkpoint = 'work_dirs/nst_r101_r50_100e_imagenet/backbone_resnet50.pth'

model = dict(
    backbone=dict(depth=50, init_cfg=dict(checkpoint=backbone_checkpoint)),
    neck=dict(in_channels=[256, 512, 1024, 2048]))
