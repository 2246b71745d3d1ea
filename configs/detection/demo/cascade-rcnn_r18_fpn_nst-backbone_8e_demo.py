# Demo Cascade R-CNN student, and the plain config of nst-fpn_cascade-r34_cascade-r18_8e_demo.py: a CPU-sized
# Cascade R-CNN R-18-FPN (128 channels, light RoI heads, few proposals) from the demo NST ResNet-18 on the generated
# demo data; 8 epochs, batch 4 (../../_base_/det_demo_data.py).
_base_ = ['mmdet::_base_/models/cascade-rcnn_r50_fpn.py', '../../_base_/det_demo_data.py']

# written by configs/distill/imagenet/nst/nst_r34_r18_8e_demo.py (ExportBackboneHook)
backbone_checkpoint = 'work_dirs/nst_r34_r18_8e_demo/backbone_resnet18.pth'

model = dict(
    backbone=dict(depth=18, frozen_stages=-1, init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=128),
    rpn_head=dict(in_channels=128, feat_channels=128),
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=2, use_torchvision=True),
            out_channels=128),
        bbox_head=[dict(head, in_channels=128, fc_out_channels=256, num_classes=len(_base_.classes))
                   for head in _base_.model.roi_head.bbox_head]),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=600, max_per_img=200),
        rcnn=[dict(stage, sampler=dict(stage.sampler, num=128)) for stage in _base_.model.train_cfg.rcnn]),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100)))
