# Demo: Faster R-CNN R-18-FPN from the demo ResNet-18 distilled from the demo ResNet-34 with NST (backbone
# transfer only).
_base_ = './faster_rcnn_baseline_demo.py'

# written by configs/pretrain/demo_nst_r34_r18.py (ExportBackboneHook)
backbone_checkpoint = 'work_dirs/demo_nst_r34_r18/backbone_resnet18.pth'

model = dict(backbone=dict(init_cfg=dict(checkpoint=backbone_checkpoint)))
