# PKD (Cao et al. 2022): MSE of per-channel standardised features, i.e. 1 - Pearson r, on the levels, teacher and
# schedule of ../nst/nst-fpn_retina-r50_retina-r18_1x_coco.py: that config with its loss replaced
# (pkd_fpn_loss_one_stage, ../_base_/fpn_losses.py).
_base_ = ['../nst/nst-fpn_retina-r50_retina-r18_1x_coco.py', '../_base_/fpn_losses.py']

model = dict(distill=dict(loss=dict(_base_.pkd_fpn_loss_one_stage, _delete_=True), adapt_channels=True))
