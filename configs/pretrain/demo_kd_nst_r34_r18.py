# Demo: ResNet-34 -> ResNet-18 with KD + NST.
_base_ = './demo_nst_r34_r18.py'

model = dict(distill=dict(kd_loss=dict(type='KDLoss', temperature=4.0, loss_weight=1.0)))
