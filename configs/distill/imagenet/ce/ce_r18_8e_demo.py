# Demo of ce_r18_100e_imagenet.py: ResNet-18 alone, 8 epochs on the generated data (../_base_/r34_r18_8e_demo.py
# without its teacher).
_base_ = '../_base_/r34_r18_8e_demo.py'

model = dict(teacher=None, distill=dict(taps=[]))
