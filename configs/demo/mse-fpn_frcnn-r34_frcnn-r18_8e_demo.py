# Demo same-teacher control: as nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py with MSE feature mimicking instead of NST
# on P2-P5 (both FPNs have 128 channels: no adapter is built). Old name: faster_rcnn_fpn_mse_demo.py.
_base_ = './nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py'

model = dict(distill=dict(loss=dict(_base_.mse_fpn_loss, _delete_=True), adapt_channels=True))
