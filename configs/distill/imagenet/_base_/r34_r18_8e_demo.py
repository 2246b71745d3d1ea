# The demo version of r101_r18_100e_imagenet.py: the demo ResNet-34 teacher (../ce/ce_r34_12e_demo.py, frozen)
# -> ResNet-18 on the generated demo data and recipe (AdamW, batch 32, 8 epochs), the same taps.
# Every demo method config (../<method>/*_demo.py) inherits this file and sets only its loss(es).
_base_ = '../../../_base_/imagenet/demo.py'

# written by ce_r34_12e_demo.py (ExportBackboneHook: the whole classifier, torchvision format)
teacher_checkpoint = 'work_dirs/ce_r34_12e_demo/classifier_resnet34.pth'

model = dict(
    type='ClassifierDistiller',
    student=dict(arch='resnet18', num_classes={{_base_.num_classes}}),
    teacher=dict(arch='resnet34', num_classes={{_base_.num_classes}}, checkpoint=teacher_checkpoint),
    distill=dict(taps=[('layer4.1.relu:input', 'layer4.2.relu:input')]),
    data_preprocessor={{_base_.data_preprocessor}},
)
