# Same-teacher control for faster_rcnn_nst_coco.py: MSE feature mimicking on the same levels from the same
# R-101-FPN teacher (see faster_rcnn_fpn_mse.py).
_base_ = './faster_rcnn_nst_coco.py'

model = dict(distill=dict(loss=dict(_delete_=True, type='MSELoss', loss_weight=1.0), adapt_channels=True))
