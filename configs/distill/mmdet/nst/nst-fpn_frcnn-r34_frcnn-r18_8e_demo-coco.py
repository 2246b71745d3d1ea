# Demo in COCO layout: as nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py, reading data/demo/coco/ with mmdet's
# CocoDataset and evaluating with CocoMetric (pycocotools; per-class table).
_base_ = './nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py'

data_root = 'data/demo/coco/'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CocoDataset',
        data_root=data_root,
        metainfo={{_base_.metainfo}},
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=16),
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CocoDataset',
        data_root=data_root,
        metainfo={{_base_.metainfo}},
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        test_mode=True,
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True, type='CocoMetric', ann_file=data_root + 'annotations/instances_val.json',
    metric='bbox', classwise=True)
test_evaluator = val_evaluator
