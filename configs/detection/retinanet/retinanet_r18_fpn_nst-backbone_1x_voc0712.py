# Student of nst-fpn_retina-r50_retina-r18_1x_voc0712.py, and its plain config (test the distilled checkpoints
# with it): RetinaNet R-18-FPN (P3-P7) from the NST-distilled ResNet-18
# (configs/distill/imagenet/nst/nst_r101_r18_100e_imagenet.py).
# Dataset: VOC07+12 trainval -> VOC07 test (11-point mAP). Schedule: the stock VOC 1x (lr 0.01, no warm-up) for
# 16 images per step (8 GPUs x 2); on another total batch pass --auto-scale-lr.
_base_ = ['mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py', '../../_base_/det_runtime.py']

data_root = 'data/VOCdevkit/'  # holds VOC2007/ and VOC2012/
backbone_checkpoint = 'work_dirs/nst_r101_r18_100e_imagenet/backbone_resnet18.pth'

model = dict(
    backbone=dict(depth=18, init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)),
    neck=dict(in_channels=[64, 128, 256, 512]))
default_hooks = dict(checkpoint=dict(backend_args=dict(backend='atomic_local')))
auto_scale_lr = dict(enable=False, base_batch_size=16)
