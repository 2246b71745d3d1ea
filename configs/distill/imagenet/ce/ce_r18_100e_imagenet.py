# Cross-entropy alone: the baseline every method is compared with (no teacher). Student ResNet-18, ImageNet,
# 100 epochs, the comparison's recipe (../_base_/r101_r18_100e_imagenet.py without its teacher).
_base_ = '../_base_/r101_r18_100e_imagenet.py'

model = dict(teacher=None, distill=dict(taps=[]))
