# PKD (Cao et al. 2022): MSE of per-channel standardised features, i.e. 1 - Pearson r, on the levels, teacher and
# schedule of ../nst/nst-fpn_cascade-r101_cascade-r18_1x_coco.py: that config with its loss replaced
# (pkd_fpn_loss_two_stage, ../_base_/fpn_losses.py).
_base_ = ['../nst/nst-fpn_cascade-r101_cascade-r18_1x_coco.py', '../_base_/fpn_losses.py']

model = dict(distill=dict(loss=dict(_base_.pkd_fpn_loss_two_stage, _delete_=True), adapt_channels=True))
