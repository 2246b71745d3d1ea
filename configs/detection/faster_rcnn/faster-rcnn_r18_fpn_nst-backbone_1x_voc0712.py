# Backbone-only transfer: as faster-rcnn_r18_fpn_ce-backbone_1x_voc0712.py, with the ResNet-18 the ImageNet stage
# distilled from ResNet-101 with NST (configs/distill/imagenet/nst/nst_r101_r18_100e_imagenet.py). No FPN NST.
_base_ = './faster-rcnn_r18_fpn_ce-backbone_1x_voc0712.py'

backbone_checkpoint = 'work_dirs/nst_r101_r18_100e_imagenet/backbone_resnet18.pth'

model = dict(backbone=dict(init_cfg=dict(checkpoint=backbone_checkpoint)))
