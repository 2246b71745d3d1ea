# Hinton KD on the logits, T = 4 weighted by T² (KDLoss's defaults: the official NST code's KD).
# Teacher ResNet-101, student ResNet-18, ImageNet, 100 epochs: ../_base_/r101_r18_100e_imagenet.py.
_base_ = '../_base_/r101_r18_100e_imagenet.py'
# teacher: torchvision://ResNet101_Weights.IMAGENET1K_V1 (set in the base)

model = dict(distill=dict(taps=[], kd_loss=dict(type='KDLoss')))
