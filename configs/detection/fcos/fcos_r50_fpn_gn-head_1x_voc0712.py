# Teacher of nst-fpn_fcos-r50_fcos-r18_1x_voc0712.py: FCOS R-50-FPN (GN head) on VOC07+12. mmdet ships no VOC FCOS:
# this is its COCO model in pytorch style (configs/_base_/fcos_r50_fpn_gn-head.py: torchvision ResNet-50 and torchvision
# normalisation, like the NST students; mmdet's released FCOS weights are Caffe-style and normalise differently)
# with the stock VOC data and VOC 1x schedule of mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py (4 epochs of the
# 3x-repeated set, lr 0.01, step at epoch 3) plus what the stock FCOS 1x adds to its optimizer: bias lr x2 without
# decay, gradient clipping, and a 500-iteration constant warm-up at lr/3 (FCOS is unstable without it).
# Train it with tools/train_det.py; 16 images per step (8 GPUs x 2), --auto-scale-lr on another total batch.
_base_ = ['../../_base_/fcos_r50_fpn_gn-head.py', 'mmdet::_base_/datasets/voc0712.py',
          'mmdet::_base_/default_runtime.py', '../../_base_/det_runtime.py']

data_root = 'data/VOCdevkit/'  # holds VOC2007/ and VOC2012/
backbone_checkpoint = 'torchvision://resnet50'

model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)),
    bbox_head=dict(num_classes=20))
max_epochs = 4
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='ConstantLR', factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[3], gamma=0.1)]
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
                     paramwise_cfg=dict(bias_lr_mult=2., bias_decay_mult=0.), clip_grad=dict(max_norm=35, norm_type=2))
default_hooks = dict(checkpoint=dict(backend_args=dict(backend='atomic_local')))
auto_scale_lr = dict(enable=False, base_batch_size=16)
