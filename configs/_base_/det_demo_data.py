# Generated demo data (tools/make_demo_data.py --out data/demo): 5 shape classes, 240x320 images, VOC layout,
# 256x192 inputs; a short schedule (batch 4). No model: a demo config pairs it with a stock mmdet:: model base,
#     _base_ = ['mmdet::_base_/models/retinanet_r50_fpn.py', '../../_base_/det_demo_data.py']
# and makes the model CPU-sized (det_demo_voc.py: Faster R-CNN; the demo configs in configs/detection/demo/: RetinaNet,
# FCOS, Cascade R-CNN).
_base_ = ['mmdet::_base_/datasets/voc0712.py', 'mmdet::_base_/default_runtime.py', './det_runtime.py']

data_root = 'data/demo/VOCdevkit/'
classes = ('circle', 'square', 'triangle', 'cross', 'ring')
image_scale = (256, 192)  # (w, h) for Resize(keep_ratio=True): 240x320 images become 192x256
max_epochs = 8
# a fixed seed, as the ImageNet-stage demo has: a rerun gives the same numbers (tools/run_demo.py --seeds varies it)
randomness = dict(seed=0)

metainfo = dict(classes=classes)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    dataset=dict(
        _delete_=True,
        type='VOCDataset',
        data_root=data_root,
        metainfo=metainfo,
        ann_file='VOC2007/ImageSets/Main/trainval.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=16, bbox_min_size=8),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=2,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader
# mmdet's VOCMetric prints the 20 VOC class names for any VOC-layout dataset; this one prints ours
val_evaluator = dict(type='NamedVOCMetric', metric='mAP', eval_mode='11points')
test_evaluator = val_evaluator

# batch 4: lr 0.01 (stock VOC: 0.01 at batch 16) with gradient clipping and a 50-iteration warm-up (stock VOC
# has none); 0.02 made the R-34 teacher diverge. --auto-scale-lr scales the lr by total batch / 4.
# the stock VOC optimizer (mmdet::pascal_voc/*_voc0712.py: SGD, momentum 0.9, weight decay 1e-4) with clipping
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
                     clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=4)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[6], gamma=0.1),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1, backend_args=dict(backend='atomic_local')))
