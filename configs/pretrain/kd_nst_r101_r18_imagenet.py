# KD + NST: adds Hinton KD with T = 4 weighted by T² = 16 (KDLoss applies T² itself).
# Teacher: torchvision://ResNet101_Weights.IMAGENET1K_V1, as nst_r101_r18_imagenet.py (teacher_checkpoint).
_base_ = './nst_r101_r18_imagenet.py'

model = dict(distill=dict(kd_loss=dict(type='KDLoss', temperature=4.0, loss_weight=1.0)))
