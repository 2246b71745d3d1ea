# MSE feature mimicking (the plain control: mmdet's MSELoss, weight 0.1, swept), on the levels, teacher and schedule
# of ../nst/nst-fpn_frcnn-r101_frcnn-r18_1x_coco.py: that config with its loss replaced (mse_fpn_loss,
# ../_base_/fpn_losses.py).
_base_ = ['../nst/nst-fpn_frcnn-r101_frcnn-r18_1x_coco.py', '../_base_/fpn_losses.py']

model = dict(distill=dict(loss=dict(_base_.mse_fpn_loss, _delete_=True), adapt_channels=True))
