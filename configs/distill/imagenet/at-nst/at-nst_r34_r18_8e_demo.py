# Demo of at-nst_r101_r18_100e_imagenet.py: the demo teacher ResNet-34 -> ResNet-18, 8 epochs on the
# generated data (../_base_/r34_r18_8e_demo.py).
_base_ = '../_base_/r34_r18_8e_demo.py'

model = dict(distill=dict(loss=[dict(type='ATLoss'), dict(type='NSTLoss')]))
