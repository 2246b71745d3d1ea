# Same-teacher control for nst-fpn_frcnn-r101_frcnn-r18_1x_coco.py: MSE feature mimicking on the same levels
# from the same R-101-FPN teacher (see mse-fpn_frcnn-r50_frcnn-r18_1x_voc0712.py).
# Old name: faster_rcnn_fpn_mse_coco.py.
_base_ = './nst-fpn_frcnn-r101_frcnn-r18_1x_coco.py'

model = dict(distill=dict(loss=dict(_base_.mse_fpn_loss, _delete_=True), adapt_channels=True))
