# Student of nst-fpn_cascade-r101_cascade-r18_1x_coco.py, and its plain config: mmdet's COCO Cascade R-CNN R-50-FPN
# config with the NST-distilled ResNet-18. COCO train2017 -> val2017; stock 1x (lr 0.02, 500-iteration warm-up),
# 16 images per step.
_base_ = ['mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py', '../../_base_/det_runtime.py']

data_root = 'data/coco/'
backbone_checkpoint = 'work_dirs/nst_r101_r18_100e_imagenet/backbone_resnet18.pth'

model = dict(
    backbone=dict(depth=18, init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)),
    neck=dict(in_channels=[64, 128, 256, 512]))
val_evaluator = dict(classwise=True)
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(backend_args=dict(backend='atomic_local')))
auto_scale_lr = dict(enable=False, base_batch_size=16)
