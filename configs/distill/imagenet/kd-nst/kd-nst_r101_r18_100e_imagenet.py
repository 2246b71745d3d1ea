# KD + NST: both terms with their defaults (the official NST code's combination).
# Teacher ResNet-101, student ResNet-18, ImageNet, 100 epochs: ../_base_/r101_r18_100e_imagenet.py.
_base_ = '../_base_/r101_r18_100e_imagenet.py'
# teacher: torchvision://ResNet101_Weights.IMAGENET1K_V1 (set in the base)

model = dict(distill=dict(loss=dict(type='NSTLoss'), kd_loss=dict(type='KDLoss')))
