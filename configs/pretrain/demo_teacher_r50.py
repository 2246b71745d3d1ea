# Demo: train the ResNet-50 teacher on the generated data (CE only).
_base_ = './demo_baseline_r18.py'

model = dict(student=dict(arch='resnet50'))
