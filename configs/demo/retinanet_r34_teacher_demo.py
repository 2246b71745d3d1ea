# Demo teacher detector of nst-fpn_retina-r34_retina-r18_8e_demo.py: the demo RetinaNet with an R-34 backbone from
# the demo ResNet-34 teacher of the ImageNet stage.
_base_ = './retinanet_r18_demo.py'

# written by configs/pretrain/demo_teacher_r34.py (ExportBackboneHook)
backbone_checkpoint = 'work_dirs/demo_teacher_r34/backbone_resnet34.pth'

model = dict(backbone=dict(depth=34, init_cfg=dict(checkpoint=backbone_checkpoint)))
