# NST (Huang & Wang 2017): MMD², polynomial kernel d=2, c=0, weight 50 (NSTLoss's defaults: the released
# code's kt_weight). What nst_r101_r18_imagenet.py trains, on the comparison's base.
# Teacher ResNet-101, student ResNet-18, ImageNet, 100 epochs: ../_base_/r101_r18_100e_imagenet.py.
_base_ = '../_base_/r101_r18_100e_imagenet.py'
# teacher: torchvision://ResNet101_Weights.IMAGENET1K_V1 (set in the base)

model = dict(distill=dict(loss=dict(type='NSTLoss')))
