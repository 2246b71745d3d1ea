# Demo teacher detector: Faster R-CNN R-34-FPN from the demo ResNet-34 teacher of the ImageNet stage
# (the same network that taught the NST backbone). Its checkpoint is the teacher of
# configs/demo/faster_rcnn_nst_demo.py. For real data use an R-50/R-101-FPN teacher (faster_rcnn_nst.py).
_base_ = '../_base_/det_demo_voc.py'

# written by configs/pretrain/demo_teacher_r34.py (ExportBackboneHook)
backbone_checkpoint = 'work_dirs/demo_teacher_r34/backbone_resnet34.pth'

model = dict(backbone=dict(depth=34, init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)))
