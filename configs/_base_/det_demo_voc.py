# Generated demo data (tools/make_demo_data.py --out data/demo): 5 shape classes, 240x320 images,
# VOC layout. A CPU-sized Faster R-CNN: R-18-FPN (depth set by the configs), a light RoI head,
# few proposals, 256x192 inputs; a short schedule.
_base_ = ['mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py', './det_runtime.py']

data_root = 'data/demo/VOCdevkit/'
classes = ('circle', 'square', 'triangle', 'cross', 'ring')
image_scale = (256, 192)  # (w, h) for Resize(keep_ratio=True): 240x320 images become 192x256
max_epochs = 8

model = dict(
    backbone=dict(depth=18, frozen_stages=-1),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=128),
    rpn_head=dict(in_channels=128, feat_channels=128),
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=2, use_torchvision=True),
            out_channels=128),
        bbox_head=dict(in_channels=128, fc_out_channels=256, num_classes=len(classes))),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=600, max_per_img=200),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100)))

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
optim_wrapper = dict(optimizer=dict(lr=0.01), clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=4)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[6], gamma=0.1),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1, backend_args=dict(backend='atomic_local')))
