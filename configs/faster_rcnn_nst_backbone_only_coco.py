# Backbone-only transfer on COCO: the NST-distilled ResNet-18, no FPN NST.
_base_ = './faster_rcnn_baseline_coco.py'

backbone_checkpoint = 'work_dirs/nst_r101_r18_imagenet/backbone_resnet18.pth'

model = dict(backbone=dict(init_cfg=dict(checkpoint=backbone_checkpoint)))
