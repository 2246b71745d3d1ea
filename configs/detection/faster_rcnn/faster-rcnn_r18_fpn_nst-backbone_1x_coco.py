# Backbone-only transfer on COCO: the NST-distilled ResNet-18, no FPN NST.
_base_ = './faster-rcnn_r18_fpn_ce-backbone_1x_coco.py'

backbone_checkpoint = 'work_dirs/nst_r101_r18_100e_imagenet/backbone_resnet18.pth'

model = dict(backbone=dict(init_cfg=dict(checkpoint=backbone_checkpoint)))
