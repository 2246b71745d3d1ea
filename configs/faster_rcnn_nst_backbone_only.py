# Backbone-only transfer: as faster_rcnn_baseline.py, with the ResNet-18 the ImageNet stage
# distilled from ResNet-101 with NST (configs/pretrain/nst_r101_r18_imagenet.py). No FPN NST.
_base_ = './faster_rcnn_baseline.py'

backbone_checkpoint = 'work_dirs/nst_r101_r18_imagenet/backbone_resnet18.pth'

model = dict(backbone=dict(init_cfg=dict(checkpoint=backbone_checkpoint)))
