# The demo Faster R-CNN: generated demo data and schedule (det_demo_data.py) with a CPU-sized Faster R-CNN:
# R-18-FPN (depth set by the configs), a light RoI head, few proposals.
_base_ = ['mmdet::_base_/models/faster-rcnn_r50_fpn.py', './det_demo_data.py']

model = dict(
    backbone=dict(depth=18, frozen_stages=-1),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=128),
    rpn_head=dict(in_channels=128, feat_channels=128),
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=2, use_torchvision=True),
            out_channels=128),
        bbox_head=dict(in_channels=128, fc_out_channels=256, num_classes=len(_base_.classes))),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=600, max_per_img=200),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100)))

