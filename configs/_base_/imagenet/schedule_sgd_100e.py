# The torchvision ResNet recipe (the paper's): SGD momentum 0.9, lr 0.1 for a total batch of 256, weight decay
# 1e-4, 100 epochs, step decay at 30/60/90.
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60, 90], gamma=0.1)]
# lr 0.1 assumes 256 images per step (4 processes x 64, _base_/imagenet.py); --auto-scale-lr scales it
# linearly by (processes x train_dataloader.batch_size) / base_batch_size, as in mmdet's tools/train.py
auto_scale_lr = dict(enable=False, base_batch_size=256)
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=1)
val_cfg = dict(type='ValLoop')
