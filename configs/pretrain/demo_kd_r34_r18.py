# Demo: ResNet-34 -> ResNet-18 with KD only (T = 4, weighted by T²).
_base_ = './demo_nst_r34_r18.py'

model = dict(distill=dict(taps=[], loss=None, kd_loss=dict(type='KDLoss', temperature=4.0, loss_weight=1.0)))
