# Demo teacher detector: Faster R-CNN R-34-FPN from the demo ResNet-34 teacher of the ImageNet stage
# (the same network that taught the NST backbone). Its checkpoint is the teacher of
# nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py (configs/distill/mmdet/nst/). For real data use an R-50/R-101-FPN
# teacher (configs/faster_rcnn_nst.py).
_base_ = '../../_base_/det_demo_voc.py'

# written by configs/distill/imagenet/ce/ce_r34_12e_demo.py (ExportBackboneHook)
backbone_checkpoint = 'work_dirs/ce_r34_12e_demo/backbone_resnet34.pth'

model = dict(backbone=dict(depth=34, init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)))
