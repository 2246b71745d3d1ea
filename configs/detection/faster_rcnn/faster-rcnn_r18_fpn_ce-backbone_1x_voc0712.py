# A/B baseline: Faster R-CNN R-18-FPN, VOC07+12 trainval -> VOC07 test (11-point mAP), stock mmdet
# schedule; the backbone is a ResNet-18 trained on ImageNet with CE only by the ImageNet stage
# (configs/distill/imagenet/ce/ce_r18_100e_imagenet.py). 'torchvision://resnet18' also works here.
_base_ = ['mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py', '../../_base_/det_runtime.py']

data_root = 'data/VOCdevkit/'  # holds VOC2007/ and VOC2012/
backbone_checkpoint = 'work_dirs/ce_r18_100e_imagenet/backbone_resnet18.pth'

model = dict(
    backbone=dict(depth=18, init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)),
    neck=dict(in_channels=[64, 128, 256, 512]))
default_hooks = dict(checkpoint=dict(backend_args=dict(backend='atomic_local')))
# the stock VOC schedule: lr 0.01 for 16 images per step (8 GPUs x 2), no warm-up; on another total batch
# pass --auto-scale-lr to scale the lr linearly
auto_scale_lr = dict(enable=False, base_batch_size=16)
