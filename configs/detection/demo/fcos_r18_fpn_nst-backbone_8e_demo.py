# Demo FCOS student, and the plain config of nst-fpn_fcos-r34_fcos-r18_8e_demo.py: a CPU-sized FCOS R-18-FPN (P3-P7,
# 128 channels, 2 GN head convs) from the demo ResNet-18 distilled with NST, pytorch style like every demo backbone,
# on the generated demo data; 8 epochs, batch 4 (../../_base_/det_demo_data.py).
_base_ = ['../../_base_/fcos_r50_fpn_gn-head.py', '../../_base_/det_demo_data.py']

# written by configs/distill/imagenet/nst/nst_r34_r18_8e_demo.py (ExportBackboneHook)
backbone_checkpoint = 'work_dirs/nst_r34_r18_8e_demo/backbone_resnet18.pth'

model = dict(
    backbone=dict(depth=18, frozen_stages=-1, init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=128),
    bbox_head=dict(num_classes=len(_base_.classes), in_channels=128, feat_channels=128, stacked_convs=2),
    test_cfg=dict(nms_pre=300))
