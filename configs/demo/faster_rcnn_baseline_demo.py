# Demo A/B baseline: Faster R-CNN R-18-FPN from the demo ResNet-18 trained with CE only.
_base_ = '../_base_/det_demo_voc.py'

# written by configs/pretrain/demo_baseline_r18.py (ExportBackboneHook)
backbone_checkpoint = 'work_dirs/demo_baseline_r18/backbone_resnet18.pth'

model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)))
