# ResNet-18 on ImageNet with cross-entropy only: the baseline the NST student is compared with.
_base_ = ['./_base_/default_runtime.py', './_base_/imagenet.py', './_base_/schedule_sgd_100e.py']

model = dict(
    type='ClassifierDistiller',
    student=dict(arch='resnet18', num_classes={{_base_.num_classes}}),
    data_preprocessor={{_base_.data_preprocessor}},
)
