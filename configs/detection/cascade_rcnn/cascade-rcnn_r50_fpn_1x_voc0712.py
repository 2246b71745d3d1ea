# Teacher of nst-fpn_cascade-r50_cascade-r18_1x_voc0712.py: mmdet's Cascade R-CNN R-50-FPN on VOC07+12 (mmdet ships
# no VOC Cascade R-CNN; this is its COCO model with the stock VOC data and 1x schedule of
# mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py). Train it with tools/train_det.py; 16 images per step.
_base_ = ['mmdet::_base_/models/cascade-rcnn_r50_fpn.py', 'mmdet::_base_/datasets/voc0712.py',
          'mmdet::_base_/default_runtime.py', '../../_base_/det_runtime.py']

data_root = 'data/VOCdevkit/'  # holds VOC2007/ and VOC2012/
backbone_checkpoint = 'torchvision://resnet50'

model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)),
    roi_head=dict(bbox_head=[dict(head, num_classes=20) for head in _base_.model.roi_head.bbox_head]))
# the stock VOC schedule: 4 epochs of the 3x-repeated set, lr 0.01 for 16 images per step, no warm-up
max_epochs = 4
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[3], gamma=0.1)]
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001))
default_hooks = dict(checkpoint=dict(backend_args=dict(backend='atomic_local')))
auto_scale_lr = dict(enable=False, base_batch_size=16)
