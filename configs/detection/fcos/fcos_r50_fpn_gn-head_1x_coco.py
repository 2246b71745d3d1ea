# Teacher of nst-fpn_fcos-r50_fcos-r18_1x_coco.py: mmdet's COCO FCOS R-50-FPN (GN head), stock 1x
# (mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py) in pytorch style: torchvision ResNet-50 and torchvision
# normalisation (RGB, ImageNet mean/std), like the NST students. mmdet's released FCOS weights are all Caffe-style
# (BGR, mean subtraction only), and a teacher must normalise as its student does, so train this one with
# tools/train_det.py (mmdet's pytorch-style fcos_r50_fpn_..._8xb8-amp-lsj-200e_coco.py has no released weights
# either, and is a 200-epoch LSJ schedule). COCO train2017 -> val2017. Schedule: the stock FCOS 1x (lr 0.01, bias
# lr x2, gradient clipping, 500-iteration constant warm-up at lr/3), 16 images per step; --auto-scale-lr otherwise.
_base_ = ['mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py', '../../_base_/det_runtime.py']

data_root = 'data/coco/'
backbone_checkpoint = 'torchvision://resnet50'

model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(norm_cfg=dict(type='BN', requires_grad=True), style='pytorch',
                  init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)))
val_evaluator = dict(classwise=True)
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(backend_args=dict(backend='atomic_local')))
auto_scale_lr = dict(enable=False, base_batch_size=16)
