# Demo of fitnet_r101_r18_100e_imagenet.py: the demo teacher ResNet-34 -> ResNet-18, 8 epochs on the generated
# data (../_base_/r34_r18_8e_demo.py). The weight has the same meaning there: 2 · 100 / (values in the hint map:
# 512 channels x 2 x 2 at the demo's 64 px crops).
_base_ = '../_base_/r34_r18_8e_demo.py'

model = dict(distill=dict(loss=dict(type='FitNetLoss', loss_weight=2 * 100 / (512 * 2 * 2))))
