# FitNet hints (Romero et al. 2015): the student's tap, through a learnt 1x1 regressor (512 -> 2048 channels),
# regresses the teacher's: ½‖u − r(v)‖² per image, the authors' HintCost.py (nst_det/losses/fitnet.py). The
# authors train that hint stage alone, then KD; here it is one term beside the cross-entropy, as in the common
# single-stage baseline (RepDistiller, Tian et al. 2020: the mean squared error times β = 100). Its weight is
# that baseline's scale: 2 · 100 / (values in the hint map: 2048 channels x 7 x 7 at 224 px).
# Teacher ResNet-101, student ResNet-18, ImageNet, 100 epochs: ../_base_/r101_r18_100e_imagenet.py.
_base_ = '../_base_/r101_r18_100e_imagenet.py'
# teacher: torchvision://ResNet101_Weights.IMAGENET1K_V1 (set in the base)

model = dict(distill=dict(loss=dict(type='FitNetLoss', loss_weight=2 * 100 / (2048 * 7 * 7))))
