# Attention transfer (Zagoruyko & Komodakis 2017), p = 2, β = 1000 (ATLoss's default: the authors' README runs)
# on the same tap as NST (the authors transfer at all four stage outputs).
# Teacher ResNet-101, student ResNet-18, ImageNet, 100 epochs: ../_base_/r101_r18_100e_imagenet.py.
_base_ = '../_base_/r101_r18_100e_imagenet.py'
# teacher: torchvision://ResNet101_Weights.IMAGENET1K_V1 (set in the base)

model = dict(distill=dict(loss=dict(type='ATLoss')))
