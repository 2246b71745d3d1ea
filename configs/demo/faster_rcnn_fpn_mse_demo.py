# Demo same-teacher control: as faster_rcnn_nst_demo.py with MSE feature mimicking instead of NST on P2-P5
# (both FPNs have 128 channels: no adapter is built).
_base_ = './faster_rcnn_nst_demo.py'

model = dict(distill=dict(loss=dict(_delete_=True, type='MSELoss', loss_weight=1.0), adapt_channels=True))
