# CWD (Shu et al. 2021): KL of each channel's spatial softmax at temperature τ, on the levels, teacher and schedule of
# ../nst/nst-fpn_fcos-r34_fcos-r18_8e_demo.py: that config with its loss replaced (cwd_fpn_loss,
# ../_base_/fpn_losses.py).
_base_ = ['../nst/nst-fpn_fcos-r34_fcos-r18_8e_demo.py', '../_base_/fpn_losses.py']

model = dict(distill=dict(loss=dict(_base_.cwd_fpn_loss, _delete_=True), adapt_channels=True))
