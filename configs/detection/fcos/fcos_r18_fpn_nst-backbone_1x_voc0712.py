# Student of nst-fpn_fcos-r50_fcos-r18_1x_voc0712.py, and its plain config (test the distilled checkpoints with it):
# FCOS R-18-FPN (GN head, P3-P7) from the NST-distilled ResNet-18, pytorch style (fcos_r50_fpn_gn-head_1x_voc0712.py
# says why). VOC07+12 trainval -> VOC07 test (11-point mAP). Schedule: the VOC 1x of that config (lr 0.01,
# 500-iteration constant warm-up, step at epoch 3), 16 images per step; on another total batch pass --auto-scale-lr.
_base_ = './fcos_r50_fpn_gn-head_1x_voc0712.py'

backbone_checkpoint = 'work_dirs/nst_r101_r18_100e_imagenet/backbone_resnet18.pth'

model = dict(
    backbone=dict(depth=18, init_cfg=dict(checkpoint=backbone_checkpoint)),
    neck=dict(in_channels=[64, 128, 256, 512]))
