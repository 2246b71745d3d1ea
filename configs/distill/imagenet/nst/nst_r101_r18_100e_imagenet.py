# NST (Huang & Wang 2017): CE + λ·MMD², polynomial kernel d=2, c=0, weight 50 (NSTLoss's defaults: the released
# code's kt_weight = 50; nst_det/losses/nst.py), selectivity maps normalised as x / sqrt(Σx² + 1e-10), with the
# torchvision ResNet recipe (batch 256, SGD momentum 0.9, lr 0.1, 100 epochs). The released code's own recipe
# (batch 512, NAG): nst_r101_r18_nag-b512-100e_imagenet.py. One tap on the final stage's pre-activation features
# ("layer4.<last>.relu:input" is the residual sum before the block's last ReLU; the released code taps the teacher's
# final BN output, before its ReLU); the PyTorch ports instead sum NST over every stage's output:
#     model = dict(distill=dict(taps=[('layer1', 'layer1'), ('layer2', 'layer2'), ('layer3', 'layer3'),
#                                     ('layer4', 'layer4')]))
# Teacher ResNet-101, student ResNet-18, ImageNet, 100 epochs: ../_base_/r101_r18_100e_imagenet.py.
_base_ = '../_base_/r101_r18_100e_imagenet.py'
# teacher: torchvision://ResNet101_Weights.IMAGENET1K_V1 (set in the base)

model = dict(distill=dict(loss=dict(type='NSTLoss')))
