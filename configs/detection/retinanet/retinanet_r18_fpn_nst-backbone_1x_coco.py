# Student of nst-fpn_retina-r50_retina-r18_1x_coco.py, and its plain config: mmdet's RetinaNet R-18-FPN (P3-P7)
# with the NST-distilled ResNet-18. Dataset: COCO train2017 -> val2017 (CocoMetric, per-class table). Schedule:
# the stock 1x (lr 0.01, 500-iteration linear warm-up) for 16 images per step; --auto-scale-lr for another batch.
_base_ = ['mmdet::retinanet/retinanet_r18_fpn_1x_coco.py', '../../_base_/det_runtime.py']

data_root = 'data/coco/'
backbone_checkpoint = 'work_dirs/nst_r101_r18_100e_imagenet/backbone_resnet18.pth'

model = dict(backbone=dict(init_cfg=dict(checkpoint=backbone_checkpoint)))
val_evaluator = dict(classwise=True)
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(backend_args=dict(backend='atomic_local')))
auto_scale_lr = dict(enable=False, base_batch_size=16)
