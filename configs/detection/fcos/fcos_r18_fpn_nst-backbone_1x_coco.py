# Student of nst-fpn_fcos-r50_fcos-r18_1x_coco.py, and its plain config (test the distilled checkpoints with it):
# FCOS R-18-FPN (GN head, P3-P7) from the NST-distilled ResNet-18
# (configs/distill/imagenet/nst/nst_r101_r18_100e_imagenet.py), in pytorch style (fcos_r50_fpn_gn-head_1x_coco.py
# says why). COCO train2017 -> val2017. Schedule: the stock FCOS 1x
# (lr 0.01, 500-iteration constant warm-up), 16 images per step; on another total batch pass --auto-scale-lr.
_base_ = './fcos_r50_fpn_gn-head_1x_coco.py'

backbone_checkpoint = 'work_dirs/nst_r101_r18_100e_imagenet/backbone_resnet18.pth'

model = dict(
    backbone=dict(depth=18, init_cfg=dict(checkpoint=backbone_checkpoint)),
    neck=dict(in_channels=[64, 128, 256, 512]))
