# A/B baseline on COCO: Faster R-CNN R-18-FPN, train2017 -> val2017 (CocoMetric, per-class table),
# stock 1x schedule; backbone: the ImageNet stage's CE-only ResNet-18.
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', '../../_base_/det_runtime.py']

data_root = 'data/coco/'
backbone_checkpoint = 'work_dirs/ce_r18_100e_imagenet/backbone_resnet18.pth'

model = dict(
    backbone=dict(depth=18, init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)),
    neck=dict(in_channels=[64, 128, 256, 512]))
val_evaluator = dict(classwise=True)
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(backend_args=dict(backend='atomic_local')))
# the stock 1x schedule: lr 0.02 for 16 images per step (8 GPUs x 2), 500-iteration linear warm-up; on another
# total batch pass --auto-scale-lr to scale the lr linearly
auto_scale_lr = dict(enable=False, base_batch_size=16)
