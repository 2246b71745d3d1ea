# Same-teacher control for nst-fpn_frcnn-r101_frcnn-r18_1x_coco.py: MSE feature mimicking on the same levels
# from the same R-101-FPN teacher (see mse-fpn_frcnn-r50_frcnn-r18_1x_voc0712.py).
# Old name: faster_rcnn_fpn_mse_coco.py.
_base_ = './nst-fpn_frcnn-r101_frcnn-r18_1x_coco.py'

model = dict(distill=dict(loss=dict(_delete_=True, type='MSELoss', loss_weight=1.0), adapt_channels=True))
