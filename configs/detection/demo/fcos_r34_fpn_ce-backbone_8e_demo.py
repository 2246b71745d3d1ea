# Demo teacher detector of nst-fpn_fcos-r34_fcos-r18_8e_demo.py: the demo FCOS with an R-34 backbone from the demo
# ResNet-34 teacher of the ImageNet stage.
_base_ = './fcos_r18_fpn_nst-backbone_8e_demo.py'

# written by configs/distill/imagenet/ce/ce_r34_12e_demo.py (ExportBackboneHook)
backbone_checkpoint = 'work_dirs/ce_r34_12e_demo/backbone_resnet34.pth'

model = dict(backbone=dict(depth=34, init_cfg=dict(checkpoint=backbone_checkpoint)))
