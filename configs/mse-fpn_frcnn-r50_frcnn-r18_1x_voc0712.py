# Same-teacher control for nst-fpn_frcnn-r50_frcnn-r18_1x_voc0712.py (FitNet-style feature mimicking): the same
# NST backbone, teacher, levels, warm-up and schedule, with NST replaced by the mean squared error between the
# student's and the teacher's FPN features (mmdet's MSELoss, mean over the valid region). Both FPNs have 256
# channels, so no adapter is built (adapt_channels adds a 1x1 conv only where channel counts differ).
# loss_weight: _base_/nst_fpn_distill.py's mse_fpn_loss (0.25, chosen by the sweep as the NST weight was).
# Old name: faster_rcnn_fpn_mse.py.
_base_ = './nst-fpn_frcnn-r50_frcnn-r18_1x_voc0712.py'

model = dict(distill=dict(loss=dict(_base_.mse_fpn_loss, _delete_=True), adapt_channels=True))
