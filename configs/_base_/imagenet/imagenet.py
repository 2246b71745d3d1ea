# ImageNet-1k in the folder layout: <data_root>/{train,val}/<class>/*.JPEG.
data_root = 'data/imagenet/'
num_classes = 1000

train_dataloader = dict(
    batch_size=64,              # per process; 4 processes x 64 = the paper's 256
    num_workers=8,
    pin_memory=True,
    persistent_workers=True,
    sampler=dict(type='SeededSampler', shuffle=True),   # augmentation seeded by (seed, epoch, index)
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ImageFolderDataset', data_root=data_root, split='train', crop_size=224),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    pin_memory=True,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ImageFolderDataset', data_root=data_root, split='val', crop_size=224, resize_size=256),
)
val_evaluator = dict(type='TopKAccuracy', topk=(1, 5))

# normalisation happens on the device, on uint8 batches
data_preprocessor = dict(type='ImgDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
