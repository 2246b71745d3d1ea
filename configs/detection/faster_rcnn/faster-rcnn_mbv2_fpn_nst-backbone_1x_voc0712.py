# Backbone-only transfer with a MobileNetV2 student: Faster R-CNN MobileNetV2-FPN on VOC, as
# faster-rcnn_r18_fpn_ce-backbone_1x_voc0712.py, with the MobileNetV2 the ImageNet stage distilled from ResNet-101
# (configs/distill/imagenet/nst/nst_r101_mbv2_100e_imagenet.py; exported in mmdet's MobileNetV2 key layout).
# out_indices (1, 2, 4, 7) (mmdet's default) feed FPN strides 4/8/16/32 as ResNet's four stages do: the ends of
# layer2 (24 ch), layer3 (32), layer5 (96) and the final 1x1 conv (1280; the NST-distilled feature map).
# As the stock ResNet backbone: BN statistics frozen (norm_eval), stem and first stage frozen (frozen_stages=1).
_base_ = './faster-rcnn_r18_fpn_ce-backbone_1x_voc0712.py'

backbone_checkpoint = 'work_dirs/nst_r101_mbv2_100e_imagenet/backbone_mobilenet_v2.pth'

model = dict(
    backbone=dict(
        _delete_=True, type='MobileNetV2', out_indices=(1, 2, 4, 7), frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True), norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)),
    neck=dict(in_channels=[24, 32, 96, 1280]))
