# Generated demo data (tools/make_demo_data.py): 5 shape classes, 72 px images, 64 px crops;
# a short schedule that runs in about a minute per model on 2 CPU cores.
_base_ = ['./default_runtime.py', './imagenet.py', './schedule_sgd_100e.py']

data_root = 'data/demo/imagenet/'
num_classes = 5

# pinned memory only helps a GPU; the demo is sized for CPUs
train_dataloader = dict(
    batch_size=32, num_workers=2, persistent_workers=True, pin_memory=False,
    # crops must keep the object: no 8%-area crops on 72 px pictures of one shape
    dataset=dict(data_root=data_root, crop_size=64, crop_scale=(0.5, 1.0)))
val_dataloader = dict(
    batch_size=64, num_workers=2, persistent_workers=True, pin_memory=False,
    dataset=dict(data_root=data_root, crop_size=64, resize_size=72))

# from scratch on 1000 images, SGD does not get going within a few hundred steps; AdamW does
optim_wrapper = dict(optimizer=dict(_delete_=True, type='AdamW', lr=2e-3, weight_decay=0.05))
auto_scale_lr = dict(enable=False, base_batch_size=32)  # lr 2e-3 is for batch 32 (one process)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=8, eta_min=0.0),
]
train_cfg = dict(max_epochs=8, val_interval=2)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=2, max_keep_ckpts=2))
