# Demo: Faster R-CNN R-18-FPN from the demo ResNet-18 distilled from the demo ResNet-34 with NST (backbone
# transfer only).
_base_ = './faster-rcnn_r18_fpn_ce-backbone_8e_demo.py'

# written by configs/distill/imagenet/nst/nst_r34_r18_8e_demo.py (ExportBackboneHook)
backbone_checkpoint = 'work_dirs/nst_r34_r18_8e_demo/backbone_resnet18.pth'

model = dict(backbone=dict(init_cfg=dict(checkpoint=backbone_checkpoint)))
