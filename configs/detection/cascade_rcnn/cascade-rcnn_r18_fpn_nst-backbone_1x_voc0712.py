# Student of nst-fpn_cascade-r50_cascade-r18_1x_voc0712.py, and its plain config: Cascade R-CNN R-18-FPN from the
# NST-distilled ResNet-18, VOC07+12 -> VOC07 test, stock VOC 1x schedule (16 images per step).
_base_ = './cascade-rcnn_r50_fpn_1x_voc0712.py'

backbone_checkpoint = 'work_dirs/nst_r101_r18_100e_imagenet/backbone_resnet18.pth'

model = dict(
    backbone=dict(depth=18, init_cfg=dict(checkpoint=backbone_checkpoint)),
    neck=dict(in_channels=[64, 128, 256, 512]))
