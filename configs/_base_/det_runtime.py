# What every detection config adds to a stock mmdet config. Only keys that mmdet's
# default_runtime.py does not define, so this file is a sibling base of any stock config:
#     _base_ = ['mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py', './_base_/det_runtime.py']
# Configs also set default_hooks.checkpoint.backend_args=dict(backend='atomic_local') themselves
# (default_hooks exists in the stock runtime, so it cannot be defined in a sibling base).
custom_imports = dict(imports=['nst_det.register_all'], allow_failed_imports=False)
custom_hooks = [
    dict(type='FreeSpaceHook'),        # refuse to start if the work dir cannot hold a checkpoint
    dict(type='NonFiniteLossHook'),    # NaN/Inf loss: stop, name the term, keep the last good checkpoint
    dict(type='PlainCheckpointHook'),  # checkpoints load with torch.load(weights_only=True)
    dict(type='BackboneCheckHook'),    # stop if the backbone file does not cover the backbone
    dict(type='DistillStateHook'),     # <work_dir>/distill.json; adapters saved beside, not in, the student
    dict(type='IterationSeedHook'),    # reseed per iteration: a resumed run draws what the uninterrupted one would
    dict(type='RuntimeSwitchesHook'),  # under a stock tool, say which of the switches below were not applied
]
# Switches tools/train_det.py and tools/test_det.py apply (nst_det/det/runtime.py):
checked_image_loading = True  # LoadImageFromFile -> CheckedLoadImageFromFile: truncated/undecodable images named
seed_per_sample = True        # training augmentation seeded by (seed, epoch, index): exact resume
# Up-front dataset check (nst_det/det/datasets.py): VOC annotations without objects, or with class
# names the dataset does not have, are errors unless allowed here
data_check = dict(allow_images_without_objects=False, allow_unknown_classes=False)
