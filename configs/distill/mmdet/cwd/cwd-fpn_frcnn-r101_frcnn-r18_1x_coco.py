# CWD (Shu et al. 2021): KL of each channel's spatial softmax at temperature τ, on the levels, teacher and schedule of
# ../nst/nst-fpn_frcnn-r101_frcnn-r18_1x_coco.py: that config with its loss replaced (cwd_fpn_loss,
# ../_base_/fpn_losses.py).
_base_ = ['../nst/nst-fpn_frcnn-r101_frcnn-r18_1x_coco.py', '../_base_/fpn_losses.py']

model = dict(distill=dict(loss=dict(_base_.cwd_fpn_loss, _delete_=True), adapt_channels=True))
