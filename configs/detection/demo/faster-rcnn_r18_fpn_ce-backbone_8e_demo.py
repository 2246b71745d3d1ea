# Demo A/B baseline: Faster R-CNN R-18-FPN from the demo ResNet-18 trained with CE only.
_base_ = '../../_base_/det_demo_voc.py'

# written by configs/distill/imagenet/ce/ce_r18_8e_demo.py (ExportBackboneHook)
backbone_checkpoint = 'work_dirs/ce_r18_8e_demo/backbone_resnet18.pth'

model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)))
