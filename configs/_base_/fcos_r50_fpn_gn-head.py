# The FCOS R-50-FPN (GN head) model of mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py in pytorch style: a
# torchvision ResNet (style='pytorch', trainable BN statistics frozen in eval, torchvision://resnet50 init) and
# torchvision normalisation (RGB, ImageNet mean/std in 0-255 units), as mmdet's own pytorch-style FCOS configs
# (fcos_r{18,50}_fpn_gn-head-center-normbbox-centeronreg-giou_8xb8-amp-lsj-200e_coco.py) have it.
# Why: every stock FCOS config with released weights is Caffe-style (BGR, mean subtraction only, caffe ResNet),
# while the NST students are torchvision ResNets trained on torchvision-normalised images; a distiller feeds the
# teacher the student's preprocessed batch, so teacher and student must normalise alike (pytorch style both).
# mmdet ships no _base_/models/fcos_*.py; this file is that model base (the VOC and demo FCOS configs pair it with
# a dataset base), and tests/test_det_configs.py checks it equals the stock model with the pytorch-style overrides
# of fcos_r50_fpn_gn-head_1x_coco.py.
backbone_checkpoint = 'torchvision://resnet50'

model = dict(
    _scope_='mmdet',  # what mmengine adds to a model inherited from an mmdet:: base; builds without default_scope
    type='FCOS',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)),
    neck=dict(
        type='FPN',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        start_level=1,
        add_extra_convs='on_output',  # P6 = conv(P5), P7 = conv(relu(P6))
        num_outs=5,
        relu_before_extra_convs=True),
    bbox_head=dict(
        type='FCOSHead',
        num_classes=80,
        in_channels=256,
        stacked_convs=4,
        feat_channels=256,
        strides=[8, 16, 32, 64, 128],
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='IoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5),
                  max_per_img=100))
