# Demo: ResNet-18 with CE only (the A/B baseline).
_base_ = './_base_/demo.py'

model = dict(
    type='ClassifierDistiller',
    student=dict(arch='resnet18', num_classes={{_base_.num_classes}}),
    data_preprocessor={{_base_.data_preprocessor}},
)
