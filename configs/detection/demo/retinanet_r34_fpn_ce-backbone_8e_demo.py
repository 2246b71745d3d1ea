# Demo teacher detector of nst-fpn_retina-r34_retina-r18_8e_demo.py: the demo RetinaNet with an R-34 backbone from
# the demo ResNet-34 teacher of the ImageNet stage.
_base_ = './retinanet_r18_fpn_nst-backbone_8e_demo.py'

# written by configs/distill/imagenet/ce/ce_r34_12e_demo.py (ExportBackboneHook)
backbone_checkpoint = 'work_dirs/ce_r34_12e_demo/backbone_resnet34.pth'

model = dict(backbone=dict(depth=34, init_cfg=dict(checkpoint=backbone_checkpoint)))
